/**
 * Both sides of "accepted means kept" on one node: as an owner it hands each accepted packet
 * to a backup (replicator.ts); as a backup it keeps other owners' packets (replica-store.ts)
 * and runs them when their owner is gone — declared dead, left, or found restarted (a new boot
 * token: its queue died with its previous run).
 */
import type { MemberEvent } from "../membership/types.ts";
import type { ReplicaBatch } from "./peer-protocol.ts";
import { type HeldPacket, ReplicaStore } from "./replica-store.ts";
import { Replicator, type ReplicatorParts } from "./replicator.ts";

export interface BackupsParts extends ReplicatorParts {
  readonly maxPackets: number;
  readonly maxBytes: number;
  /** Run packets whose owner (`from`, "ip:port") is gone. */
  run(packets: HeldPacket[], from: string): void;
}

export type Received = { ok: true } | { ok: false; status: 403 | 503; error: string };

export class Backups {
  readonly store: ReplicaStore;
  readonly replicator: Replicator;
  readonly counts = { taken_over: 0, batches_received: 0, batches_refused: 0 };

  constructor(private readonly parts: BackupsParts) {
    this.store = new ReplicaStore(parts.maxPackets, parts.maxBytes);
    this.replicator = new Replicator(parts);
  }

  /** A batch from an owner: keep its packets, forget the done ones. */
  receive(b: ReplicaBatch): Received {
    const owner = this.parts.members().find((m) => m.info.id === b.owner);
    // Only members hand packets over, each for itself (its id at its own address).
    if (!owner || b.owner === this.parts.selfId || owner.info.http !== b.owner_http) {
      this.counts.batches_refused++;
      return { ok: false, status: 403, error: "not a member handing over its own packets" };
    }
    this.counts.batches_received++;
    const r = this.store.receive(b.owner, b.owner_http, b.boot, b.keep, b.done);
    if (r.orphans.length > 0) this.#run(r.orphans, b.owner_http, "restarted");
    if (r.kept) return { ok: true };
    this.counts.batches_refused++;
    return { ok: false, status: 503, error: "backup store full" };
  }

  /** Membership changed: run what a dead or departed owner left; re-home our own copies. */
  memberChanged(e: MemberEvent): void {
    if (e.type === "dead" || e.type === "left") {
      const packets = this.store.takeOver(e.member.info.id);
      if (packets.length > 0) this.#run(packets, e.member.info.http, e.type);
    }
    this.replicator.rebalance(e.member);
  }

  /** Periodic: let members know this run of ours started (see Replicator.announce). */
  tick(): void {
    this.replicator.announce();
  }

  stats(): Record<string, number> {
    return {
      ...this.counts,
      ...this.replicator.counts,
      handed_unfinished: this.replicator.unfinished,
      backup_packets: this.store.size,
      backup_bytes: this.store.bytes,
    };
  }

  #run(packets: HeldPacket[], from: string, why: string): void {
    this.counts.taken_over += packets.length;
    this.parts.log.warn({ owner: from, packets: packets.length, why }, "running packets of a node that is gone");
    this.parts.run(packets, from);
  }
}
