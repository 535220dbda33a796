/**
 * A PeerClient whose peers answer as a test tells them, with no sockets: "silent" stands for a
 * frozen process (the real client's timeout), "gone" for a refused connection (a crashed one).
 */
import pino from "pino";
import type { AskOutcome, ForwardOutcome, PeerClient, ReplicaBatch, ReplicateOutcome, StatusOutcome } from "../../src/load/peer-protocol.ts";
import type { Member, MemberState } from "../../src/membership/types.ts";

export type AskMode = "silent" | "gone" | { seen: false; maybe_at?: string[] } | { seen: true; handled_by: string; pending?: boolean };

export interface FakePeer {
  http: string;
  ask: AskMode;
  /** What a forward to it returns (default: taken there). */
  forward?: ForwardOutcome;
  asked: number;
  forwarded: number;
}

export class FakePeers implements PeerClient {
  readonly peers = new Map<string, FakePeer>();

  add(http: string, ask: AskMode = { seen: false }): FakePeer {
    const p: FakePeer = { http, ask, asked: 0, forwarded: 0 };
    this.peers.set(http, p);
    return p;
  }

  async ask(http: string): Promise<AskOutcome> {
    const p = this.peers.get(http);
    if (!p) return { kind: "gone" };
    p.asked++;
    const m = p.ask;
    if (m === "silent" || m === "gone") return { kind: m };
    if (!m.seen) return m.maybe_at ? { kind: "new", maybeAt: m.maybe_at } : { kind: "new" };
    return { kind: "seen", handledBy: m.handled_by, pending: m.pending === true };
  }

  /** Batches handed to each backup, and what the next one answers (default: kept). */
  readonly batches: { http: string; batch: ReplicaBatch }[] = [];
  replicateAnswer: (http: string) => ReplicateOutcome | Promise<ReplicateOutcome> = () => ({ kind: "kept" });

  async replicate(http: string, batch: ReplicaBatch): Promise<ReplicateOutcome> {
    this.batches.push({ http, batch: structuredClone(batch) });
    return this.replicateAnswer(http);
  }

  async status(): Promise<StatusOutcome> {
    return { kind: "unknown" };
  }

  async forward(http: string): Promise<ForwardOutcome> {
    const p = this.peers.get(http);
    if (!p) return { kind: "declined", reason: "refused" };
    p.forwarded++;
    return p.forward ?? { kind: "accepted", reply: { status: "accepted", handled_by: http } };
  }
}

export function member(http: string, state: MemberState = "alive", capacity = 1000): Member {
  return { info: { id: http, name: http, gossip: http, http, capacity }, state, incarnation: 0, changedAt: 0 };
}

export const silentLog = pino({ level: "silent" });
