import type { Awareness } from "./awareness.ts";
import type { BroadcastQueue } from "./broadcast-queue.ts";
import type { MemberTable } from "./member-table.ts";
import type { Outbox } from "./outbox.ts";
import type { Timing } from "./timing.ts";
import type { LivenessProofs, NodeId } from "./types.ts";

/** Protocol counters, for metrics. */
export interface SwimStats {
  probes: number;
  pingReqs: number;
  relayed: number;
  nacksSent: number;
  suspicions: number;
  refutations: number;
  deaths: number;
  messagesIn: number;
  misdirected: number;
  /** Probes that failed over UDP but were answered over HTTP (not suspected). */
  fallbackAcks: number;
  /**
   * Claims dropped for their incarnation: a suspect, dead or left naming more than the member
   * ever announced, or any claim beyond the clock's ceiling (made up by an insider, or stale).
   */
  invalidIncarnations: number;
  /**
   * Answers to our probes (acks, relayed acks, HTTP answers) that did not prove the probed
   * member answered: a nonce that is not the probe's, a missing or bad proof, another identity.
   */
  unprovenAcks: number;
  /**
   * Alive claims for an address another member holds, refused until the claimant proves itself
   * at that address (or the holder is dead by its own silence).
   */
  addressConflicts: number;
  /** Ping-reqs ignored: their target is no member we know, or not at the addresses we know for it. */
  pingReqsRefused: number;
}

export function newStats(): SwimStats {
  return {
    probes: 0,
    pingReqs: 0,
    relayed: 0,
    nacksSent: 0,
    suspicions: 0,
    refutations: 0,
    deaths: 0,
    messagesIn: 0,
    misdirected: 0,
    fallbackAcks: 0,
    invalidIncarnations: 0,
    unprovenAcks: 0,
    addressConflicts: 0,
    pingReqsRefused: 0,
  };
}

/** What the mechanisms of one core share. */
export interface CoreParts {
  readonly t: Timing;
  readonly table: MemberTable;
  readonly queue: BroadcastQueue;
  readonly awareness: Awareness;
  readonly stats: SwimStats;
  readonly out: Outbox;
  /** Uniform in [0, 1); seeded in the simulator. */
  readonly random: () => number;
  readonly liveness: LivenessProofs;
}

/** Same bytes? (Nonces are short: a loop beats a library call.) */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Open mode, and tests: nonces from the core's own random stream, any answer taken as proof. */
export function plainLiveness(random: () => number): LivenessProofs {
  return {
    nonce: () => {
      const n = new Uint8Array(16);
      for (let i = 0; i < n.length; i++) n[i] = Math.floor(random() * 256);
      return n;
    },
    verify: () => true,
  };
}

/** Up to k distinct random members of `pool`, never `exclude`; O(k) for large pools. */
export function pick<M extends { readonly info: { readonly id: NodeId } }>(random: () => number, pool: readonly M[], k: number, exclude?: NodeId): M[] {
  if (pool.length <= 2 * k + 1) {
    const candidates = pool.filter((m) => m.info.id !== exclude);
    return shuffle(random, candidates).slice(0, k);
  }
  const chosen = new Set<M>();
  while (chosen.size < k) {
    const m = pool[Math.floor(random() * pool.length)]!;
    if (m.info.id !== exclude) chosen.add(m);
  }
  return [...chosen];
}

/** Fisher–Yates, in place. */
export function shuffle<T>(random: () => number, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
