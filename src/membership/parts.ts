import type { Awareness } from "./awareness.ts";
import type { BroadcastQueue } from "./broadcast-queue.ts";
import type { MemberTable } from "./member-table.ts";
import type { Outbox } from "./outbox.ts";
import type { Timing } from "./timing.ts";
import type { NodeId } from "./types.ts";

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
}

export function newStats(): SwimStats {
  return { probes: 0, pingReqs: 0, relayed: 0, nacksSent: 0, suspicions: 0, refutations: 0, deaths: 0, messagesIn: 0, misdirected: 0, fallbackAcks: 0 };
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
