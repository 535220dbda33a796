/**
 * Was this process frozen (SIGSTOP, VM pause, a long GC)? Requests that waited in the socket
 * meanwhile may have been retried on another node by devices that timed out, so for a while
 * after a stall every packet is checked cluster-wide before it is taken. A heartbeat notes the
 * event loop's pulse; `check` is called by the heartbeat and by every request, whichever the
 * event loop runs first after a stall.
 */
import { intervalTicker, type Ticker } from "./ticker.ts";

/** Heartbeat period; a gap longer than STALL_MS means the process was frozen. */
export const BEAT_MS = 100;
export const STALL_MS = 250;
/** How long after a stall packets are checked cluster-wide (covers requests queued meanwhile). */
export const RECHECK_MS = 2000;
export const MAX_RECHECK_MS = 10_000;

export class StallDetector {
  #stop: (() => void) | undefined;
  #lastBeat = Number.NEGATIVE_INFINITY;
  #recheckUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number,
    private readonly ticker: Ticker = intervalTicker,
  ) {}

  start(): void {
    if (this.#stop) return;
    this.#lastBeat = this.now();
    this.#stop = this.ticker(BEAT_MS, () => this.check(this.now()));
  }

  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  /** Notes a beat at `now`; true while packets must be checked cluster-wide. Never true before start(). */
  check(now: number): boolean {
    if (!this.#stop) return false;
    const gap = now - this.#lastBeat;
    // A longer freeze queued more requests: check for at least as long as it lasted (bounded).
    if (gap > STALL_MS) this.#recheckUntil = Math.max(this.#recheckUntil, now + Math.min(Math.max(RECHECK_MS, gap), MAX_RECHECK_MS));
    this.#lastBeat = Math.max(this.#lastBeat, now);
    return now < this.#recheckUntil;
  }
}
