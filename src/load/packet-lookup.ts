/**
 * Where is packet `id`, and what became of it? Answered from whichever node is asked: this
 * node's queue and results first; then the node it knows has the packet (it forwarded it
 * there, or holds it as a backup for it); then, unless the question itself came from a peer,
 * every alive member at once. Waiting (`waitS`) happens at the node that runs the packet.
 */
import type { Member } from "../membership/types.ts";
import type { PacketStatus } from "./outcomes.ts";
import type { PeerClient } from "./peer-protocol.ts";

export interface LookupParts {
  readonly self: string;
  readonly client: PeerClient;
  readonly timeoutMs: number;
  members(): readonly Readonly<Member>[];
  /** This node's own knowledge, waiting up to `waitS` for the packet to finish here. */
  local(id: string, waitS: number): Promise<PacketStatus | undefined>;
  /** A node ("ip:port") that this node knows took the packet, if any. */
  holder(id: string): string | undefined;
}

const finished = (s: PacketStatus | undefined) => s?.state === "done" || s?.state === "failed";

export class PacketLookup {
  constructor(private readonly p: LookupParts) {}

  /** `hop` > 0: the question came from a peer, so only this node's own knowledge counts. */
  async find(id: string, waitS: number, hop: number): Promise<PacketStatus | undefined> {
    const { p } = this;
    const here = await p.local(id, waitS);
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
    if (at === this.p.self) return this.p.local(id, waitS);
    const r = await this.p.client.status(at, id, waitS, this.p.timeoutMs);
    return r.kind === "found" ? r.status : this.find(id, 0, 0);
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
