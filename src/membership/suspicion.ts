import { suspicionMinMs, type Timing } from "./timing.ts";
import type { NodeId } from "./types.ts";

/**
 * Lifeguard's dynamic suspicion timeout: it starts at `maxMs` and falls logarithmically
 * towards `minMs` as independent confirmations arrive; `k` confirmations reach the floor.
 */
export function suspicionTimeout(minMs: number, maxMs: number, k: number, confirmations: number): number {
  if (k < 1) return minMs;
  const frac = Math.log(confirmations + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)));
}

/** One open suspicion of one member at one incarnation. */
export class Suspicion {
  readonly #confirmers = new Set<NodeId>();
  /** Confirmers but the first (a field: Set.size is a call, and this is read for every suspect heard). */
  #confirmations = 0;
  #deadline: number;

  constructor(
    readonly incarnation: number,
    readonly startedAt: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    /** Confirmations needed to reach the floor. */
    private readonly k: number,
    firstSuspector: NodeId,
  ) {
    this.#confirmers.add(firstSuspector);
    this.#deadline = startedAt + suspicionTimeout(minMs, maxMs, k, 0);
  }

  get deadline(): number {
    return this.#deadline;
  }

  get confirmations(): number {
    return this.#confirmations;
  }

  /**
   * Record an independent suspicion; returns true if it was new and still counts (worth
   * re-gossiping). Once `k` have confirmed, the timeout is at its floor and more change nothing:
   * like memberlist, they are not taken, nor gossiped again (at 10 000 members every suspector's
   * claim re-gossiped by everyone made each suspicion a burst of N × suspectors datagrams).
   */
  confirm(from: NodeId): boolean {
    if (this.#confirmations >= this.k || this.#confirmers.has(from)) return false;
    this.#confirmers.add(from);
    this.#confirmations++;
    this.#deadline = this.startedAt + suspicionTimeout(this.minMs, this.maxMs, this.k, this.confirmations);
    return true;
  }
}

/** A new suspicion in a cluster of `liveCount` members (this node included). */
export function openSuspicion(t: Timing, liveCount: number, incarnation: number, now: number, from: NodeId): Suspicion {
  const min = suspicionMinMs(t, liveCount);
  // With fewer than k other members to confirm, waiting for confirmations would only delay.
  const k = liveCount - 2 < t.suspicionConfirmations ? 0 : t.suspicionConfirmations;
  return new Suspicion(incarnation, now, min, min * t.suspicionMaxMult, k, from);
}
