import { signAlive, signLeft, signLoad } from "../identity/claims.ts";
import { proveLiveness } from "../identity/liveness.ts";
import type { NodeIdentity } from "../identity/node-identity.ts";
import { MAX_INCARNATION } from "../membership/incarnation.ts";
import type { Message, NodeId, NodeInfo, Update } from "../membership/types.ts";

/** What a forger knows: the members (as any member sees them), its own id and key, the time. */
export interface ForgerView {
  readonly self: NodeId;
  readonly key: NodeIdentity;
  readonly now: number;
  readonly members: readonly { readonly info: NodeInfo; readonly incarnation: number }[];
  /** Sequence numbers it has seen others use (from their pings to it). */
  readonly recentSeq: number;
}

/**
 * Random forged messages, as a fuzzer would make them, but every one authenticated (sealed with
 * the cluster key by the caller): claims about other members with any incarnation, unsigned,
 * signed with the forger's own key or with random bytes; acks, nacks and ping-reqs with guessed
 * numbers and made-up targets. The forger never signs claims about its own id (lying about
 * itself is allowed, and the simulator's owner rules would count it as a broken invariant).
 */
export function randomForgery(random: () => number, v: ForgerView): Message {
  const int = (n: number) => Math.floor(random() * n);
  const oneOf = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const others = v.members.filter((m) => m.info.id !== v.self);
  const victim =
    others.length > 0 ? oneOf(others) : { info: { id: "0000000000000000", name: "x", gossip: "10.1.1.1:1", http: "10.1.1.1:2", capacity: 1 }, incarnation: 0 };
  const id = victim.info.id;
  const incarnation = oneOf([
    0,
    victim.incarnation - 1,
    victim.incarnation,
    victim.incarnation + 1,
    victim.incarnation + 2,
    MAX_INCARNATION,
    Math.floor(v.now / 1000) + int(1e6),
  ]);
  const inc = Math.max(0, incarnation);
  const from = oneOf([v.self, id, oneOf(others.length > 0 ? others : [victim]).info.id, "f0f0f0f0f0f0f0f0"]);
  const proof = (sign: () => Uint8Array) => oneOf([undefined, sign(), bytes(64), bytes(96)]);
  const update = (): Update => {
    switch (int(5)) {
      case 0: {
        const info = { ...victim.info, ...oneOf([{}, { capacity: 1e9 }, { gossip: "10.250.0.1:7946" }, { name: "hijacked" }]) };
        return { kind: "alive", incarnation: inc, info, proof: proof(() => signAlive(v.key, inc, info)) };
      }
      case 1:
        return { kind: "suspect", id, incarnation: inc, from };
      case 2:
        return { kind: "dead", id, incarnation: inc, from };
      case 3:
        return { kind: "left", id, incarnation: inc, proof: proof(() => signLeft(v.key, inc)) };
      default: {
        const load = { version: Math.floor(v.now) + int(1e9), backlog: int(1e6) };
        return { kind: "load", id, load, proof: proof(() => signLoad(v.key, load)) };
      }
    }
  };
  const seq = Math.max(0, v.recentSeq + int(20) - 5);
  const nonce = bytes(16);
  switch (int(6)) {
    case 0:
      return { type: "ack", seq, from: oneOf([id, v.self]), nonce, proof: oneOf([undefined, bytes(64), proveLiveness(v.key, nonce)]), updates: [] };
    case 1:
      return { type: "nack", seq, from: v.self, refused: random() < 0.5 };
    case 2:
      return {
        type: "ping-req",
        seq,
        from: v.self,
        target: oneOf([id, "abcdefabcdefabcd"]),
        targetGossip: oneOf([victim.info.gossip, "10.250.0.2:22"]),
        targetHttp: oneOf([victim.info.http, "169.254.169.254:80"]),
        nonce,
        updates: [],
      };
    default:
      return { type: "gossip", from: v.self, updates: Array.from({ length: 1 + int(4) }, update) };
  }
}
