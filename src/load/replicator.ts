/**
 * The owner's side of "accepted means kept": before a packet is acknowledged it is handed to a
 * backup (backup-ring.ts), and when it finishes the backup is told, so it can forget it.
 *
 * Hand-offs are batched per backup like a group commit: a batch goes out at once when nothing
 * is in flight to that backup, and whatever arrives meanwhile rides in the next one (at most
 * MAX_IN_FLIGHT batches in flight per backup). At low load a packet waits one round trip; at
 * high load one request carries hundreds. Done notices ride in the same batches.
 *
 * A batch that fails goes to the next candidate on the ring; packets no candidate takes are not
 * kept (the caller refuses them). A batch with no clear answer may still have landed, so the
 * backup is later told those ids are done (it must not run them if we die). When a backup
 * leaves the ring, the unfinished packets it held are handed to the new one.
 */
import type { Logger } from "../log/logger.ts";
import type { Member, MemberState } from "../membership/types.ts";
import { backupCandidates } from "./backup-ring.ts";
import type { PeerClient } from "./peer-protocol.ts";
import type { HeldPacket } from "./replica-store.ts";

const MAX_IN_FLIGHT = 2;
/** The ring is recomputed at most this often (and whenever membership changes: rebalance). */
const RING_TTL_MS = 250;
const MAX_BATCH = 1024;
/** Payload bytes per batch, well under the route's body limit. */
const MAX_BATCH_BYTES = 2 * 1024 * 1024;
/** Done notices waiting for a backup that does not answer: beyond this the oldest are dropped. */
const MAX_DONE_QUEUED = 100_000;
/** After a failed batch, done notices alone wait this long before the next try. */
const RETRY_DONE_MS = 500;

export interface ReplicatorParts {
  readonly selfId: string;
  readonly selfHttp: string;
  readonly boot: string;
  readonly client: PeerClient;
  readonly timeoutMs: number;
  readonly log: Logger;
  members(): readonly Readonly<Member>[];
}

interface Pending {
  readonly p: HeldPacket;
  readonly tried: Set<string>;
  readonly resolve: (kept: boolean) => void;
}

interface Lane {
  readonly http: string;
  keep: Pending[];
  done: string[];
  inFlight: number;
  /** Done notices alone are not sent before this (the backup just failed). */
  pausedUntil: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** A packet handed over or being handed: where it is kept, and whether it finished meanwhile. */
interface Tracked {
  readonly p: HeldPacket;
  at?: string;
  finished?: boolean;
}

export class Replicator {
  readonly #lanes = new Map<string, Lane>();
  readonly #tracked = new Map<string, Tracked>();
  readonly #announced = new Set<string>();
  #ring: { at: number; candidates: Readonly<Member>[] } | undefined;
  readonly counts = { handoffs: 0, handed: 0, not_kept: 0, rehanded: 0, handoff_failures: 0 };

  constructor(private readonly parts: ReplicatorParts) {}

  /** Packets handed over and not finished. */
  get unfinished(): number {
    return this.#tracked.size;
  }

  /**
   * Hand `p` to a backup. "alone": no other alive member to keep it (a lone node keeps its
   * packets itself). Otherwise resolves true once a backup keeps it, false if none would.
   */
  keep(p: HeldPacket): "alone" | Promise<boolean> {
    const candidates = this.#candidates();
    if (candidates.length === 0) return "alone";
    this.#tracked.set(p.id, { p });
    return new Promise((resolve) => this.#send({ p, tried: new Set(), resolve }, candidates));
  }

  /** Packet `id` finished here: its backup may forget it. */
  done(id: string): void {
    const t = this.#tracked.get(id);
    if (!t) return;
    if (!t.at) {
      t.finished = true; // still being handed over: told when it lands
      return;
    }
    this.#tracked.delete(id);
    this.#notice(t.at, id);
  }

  /**
   * The ring changed (`changed`: the member an event was about): packets whose backup is no
   * longer alive go to the new one. Runs at every membership event, so the whole table is read
   * only while packets are held elsewhere; otherwise only the changed member's idle lane goes.
   */
  rebalance(changed?: { readonly info: { readonly http: string }; readonly state: MemberState }): void {
    this.#ring = undefined;
    if (this.#tracked.size === 0) {
      const lane = changed && changed.state !== "alive" ? this.#lanes.get(changed.info.http) : undefined;
      if (lane && lane.inFlight === 0 && lane.keep.length === 0) this.#lanes.delete(changed!.info.http);
      return;
    }
    const alive = new Set(
      this.parts
        .members()
        .filter((m) => m.state === "alive")
        .map((m) => m.info.http),
    );
    for (const t of this.#tracked.values()) {
      if (!t.at || alive.has(t.at)) continue;
      const candidates = this.#candidates();
      if (candidates.length === 0) return;
      t.at = undefined;
      this.counts.rehanded++;
      this.#send({ p: t.p, tried: new Set(), resolve: () => {} }, candidates);
    }
    for (const [http, lane] of this.#lanes) if (!alive.has(http) && lane.inFlight === 0 && lane.keep.length === 0) this.#lanes.delete(http);
  }

  /**
   * Tell every member once that this run of ours started (an empty batch with our boot token):
   * one holding packets from our previous run runs them now, since we lost them when we stopped.
   */
  announce(): void {
    for (const m of this.parts.members()) {
      if (m.state !== "alive" || m.info.id === this.parts.selfId || this.#announced.has(m.info.id)) continue;
      this.#announced.add(m.info.id);
      this.#flush(this.#lane(m.info.http), true);
    }
  }

  #candidates(): Readonly<Member>[] {
    const now = performance.now();
    if (!this.#ring || now - this.#ring.at > RING_TTL_MS) this.#ring = { at: now, candidates: backupCandidates(this.parts.selfId, this.parts.members()) };
    return this.#ring.candidates;
  }

  #lane(http: string): Lane {
    let lane = this.#lanes.get(http);
    if (!lane) this.#lanes.set(http, (lane = { http, keep: [], done: [], inFlight: 0, pausedUntil: 0 }));
    return lane;
  }

  #send(pending: Pending, candidates: readonly Readonly<Member>[]): void {
    const target = candidates.find((m) => !pending.tried.has(m.info.http));
    if (!target) {
      this.counts.not_kept++;
      this.#tracked.delete(pending.p.id);
      pending.resolve(false);
      return;
    }
    const lane = this.#lane(target.info.http);
    lane.keep.push(pending);
    this.#flush(lane);
  }

  #notice(http: string, id: string): void {
    const lane = this.#lane(http);
    if (lane.done.length >= MAX_DONE_QUEUED) lane.done.shift();
    lane.done.push(id);
    this.#flush(lane);
  }

  #flush(lane: Lane, empty = false): void {
    if (lane.keep.length === 0 && !empty && lane.done.length > 0 && performance.now() < lane.pausedUntil) {
      lane.timer ??= setTimeout(() => {
        lane.timer = undefined;
        this.#flush(lane);
      }, lane.pausedUntil - performance.now());
      return;
    }
    while (lane.inFlight < MAX_IN_FLIGHT && (empty || lane.keep.length > 0 || lane.done.length > 0)) {
      empty = false;
      const keep = this.#take(lane);
      const done = lane.done.splice(0, MAX_BATCH * 4);
      lane.inFlight++;
      this.counts.handoffs++;
      const { selfId, selfHttp, boot, client, timeoutMs } = this.parts;
      const batch = { owner: selfId, owner_http: selfHttp, boot, keep: keep.map((k) => k.p), done };
      void client.replicate(lane.http, batch, timeoutMs).then((out) => {
        lane.inFlight--;
        if (out.kind === "kept") this.#landed(lane, keep);
        else this.#bounced(lane, keep, done, out.kind === "failed", out.reason);
        this.#flush(lane);
      });
    }
  }

  /** The next batch's packets: up to MAX_BATCH of them and MAX_BATCH_BYTES of payload. */
  #take(lane: Lane): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < lane.keep.length && n < MAX_BATCH) {
      const p = lane.keep[n]!.p.payload;
      bytes += p === undefined ? 0 : JSON.stringify(p).length;
      if (n > 0 && bytes > MAX_BATCH_BYTES) break;
      n++;
    }
    return lane.keep.splice(0, n);
  }

  #landed(lane: Lane, keep: readonly Pending[]): void {
    for (const k of keep) {
      this.counts.handed++;
      const t = this.#tracked.get(k.p.id);
      if (t?.finished) {
        this.#tracked.delete(k.p.id);
        lane.done.push(k.p.id);
      } else if (t) t.at = lane.http;
      k.resolve(true);
    }
  }

  #bounced(lane: Lane, keep: readonly Pending[], done: readonly string[], unclear: boolean, reason: string): void {
    this.counts.handoff_failures++;
    this.parts.log.debug({ backup: lane.http, reason, packets: keep.length }, "hand-off to a backup failed");
    const candidates = this.#candidates();
    if (unclear && candidates.some((m) => m.info.http === lane.http)) {
      // It may have kept them after all: it must not run them should we die. Done notices wait
      // a little and go again, to a backup still alive (one that crashed keeps nothing).
      for (const k of keep) lane.done.push(k.p.id);
      if (lane.done.length + done.length <= MAX_DONE_QUEUED) lane.done.unshift(...done);
      lane.pausedUntil = performance.now() + RETRY_DONE_MS;
    } else lane.done = [];
    for (const k of keep) {
      k.tried.add(lane.http);
      this.#send(k, candidates);
    }
  }
}
