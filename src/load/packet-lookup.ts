/**
 * Where is packet `id`, and what became of it? Answered from whichever node is asked: this
 * node's queue and results first; then the node it knows has the packet (it forwarded it
 * there, or holds a copy as its backup); then, unless the question itself came from a peer,
 * every alive member at once. Waiting (`waitS`) happens at the node that runs the packet.
 */
import type { Member } from "../membership/types.ts";
import type { Outcomes, PacketStatus } from "./outcomes.ts";
import type { PacketQueue } from "./packet-queue.ts";
import type { PeerClient } from "./peer-protocol.ts";

export interface LookupParts {
  readonly self: string;
  readonly client: PeerClient;
  readonly timeoutMs: number;
  readonly queue: PacketQueue;
  readonly outcomes: Outcomes;
  members(): readonly Readonly<Member>[];
  now(): number;
  /** A node ("ip:port") that this node knows took the packet, if any. */
  holder(id: string): string | undefined;
}

const finished = (s: PacketStatus | undefined) => s?.state === "done" || s?.state === "failed";

export class PacketLookup {
  constructor(private readonly p: LookupParts) {}

  /** What this node knows of packet `id`: queued or running here, or its outcome here. */
  local(id: string): PacketStatus | undefined {
    const now = this.p.now();
    const q = this.p.queue.state(id, now);
    if (q) return { packet_id: id, state: q.state, handled_by: this.p.self };
    return this.p.outcomes.get(id, now);
  }

  /** The local status of `id`, once it has finished or after `waitS`, whichever comes first. */
  async awaitLocal(id: string, waitS: number): Promise<PacketStatus | undefined> {
    const s = this.local(id);
    if (!s || finished(s) || waitS <= 0) return s;
    return this.p.outcomes.wait(id, waitS * 1000, () => this.local(id) ?? s);
  }

  /** `hop` > 0: the question came from a peer, so only this node's own knowledge counts. */
  async find(id: string, waitS: number, hop: number): Promise<PacketStatus | undefined> {
    const { p } = this;
    const here = await this.awaitLocal(id, waitS);
    if (here || hop > 0) return here;
    const holder = p.holder(id);
    if (holder && holder !== p.self) {
      const r = await p.client.status(holder, id, waitS, p.timeoutMs);
      if (r.kind === "found") return r.status;
    }
    const others = p
      .members()
      .filter((m) => (m.state === "alive" || m.state === "suspect") && m.info.http !== p.self && m.info.http !== holder)
      .map((m) => m.info.http);
    return this.#first(others, id, waitS);
  }

  /** The outcome of `id` at `at` (this node or a peer), waiting up to `waitS`. */
  async at(at: string, id: string, waitS: number): Promise<PacketStatus | undefined> {
    if (at === this.p.self) return this.awaitLocal(id, waitS);
    const r = await this.p.client.status(at, id, waitS, this.p.timeoutMs);
    return r.kind === "found" ? r.status : this.find(id, 0, 0);
  }

  /** A 200 for a packet, completed with its outcome once known (or its state after `waitS`). */
  async withOutcome<R extends { status: number; body: Record<string, unknown> }>(r: R, waitS: number): Promise<R> {
    const id = r.body.packet_id;
    const at = r.body.handled_by;
    if (r.status !== 200 || typeof id !== "string" || typeof at !== "string") return r;
    const s = await this.at(at, id, waitS);
    if (!s) return r;
    const { packet_id: _, handled_by: __, ...outcome } = s;
    return { ...r, body: { ...r.body, ...outcome } };
  }

  /** Ask every node at once; the first that knows answers (a finished outcome beats a state). */
  #first(nodes: readonly string[], id: string, waitS: number): Promise<PacketStatus | undefined> {
    if (nodes.length === 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let left = nodes.length;
      let best: PacketStatus | undefined;
      for (const at of nodes) {
        void this.p.client.status(at, id, waitS, this.p.timeoutMs).then((r) => {
          left--;
          if (r.kind === "found" && (!best || finished(r.status))) best = r.status;
          if (finished(best) || left === 0) resolve(best);
        });
      }
    });
  }
}
