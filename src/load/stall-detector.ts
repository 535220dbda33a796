/**
 * Was this process frozen (SIGSTOP, VM pause, a long GC)? Requests that waited in the socket
 * meanwhile may have been retried on another node by devices that timed out, so for a while
 * after a stall every packet is checked cluster-wide before it is taken.
 *
 * No timer of its own (a 100 ms heartbeat cost an idle node ten wake-ups a second): the load
 * service's periodic tick calls `beat`, and a beat overdue by more than STALL_MS means the event
 * loop did not run; SIGCONT, the end of a SIGSTOP, says so at once, however short the freeze.
 * `check` is called by every request and by the tick, whichever the event loop runs first after
 * a stall.
 */

/** How late a beat may be before the process counts as frozen. */
export const STALL_MS = 250;
/** How long after a stall packets are checked cluster-wide (covers requests queued meanwhile). */
export const RECHECK_MS = 2000;
export const MAX_RECHECK_MS = 10_000;

/** Call `fn` when the process is continued after a stop; returns the unsubscribe function. */
export type ResumeWatch = (fn: () => void) => () => void;

export const onSigcont: ResumeWatch = (fn) => {
  process.on("SIGCONT", fn);
  return () => void process.off("SIGCONT", fn);
};

export class StallDetector {
  #unwatch: (() => void) | undefined;
  /** The last beat, and the last time the event loop was seen running (a beat or a check). */
  #lastBeat = Number.NEGATIVE_INFINITY;
  #lastSeen = Number.NEGATIVE_INFINITY;
  #resumed = false;
  #recheckUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number,
    /** How often `beat` is called. */
    private readonly beatMs: number,
    private readonly watchResume: ResumeWatch = onSigcont,
  ) {}

  start(): void {
    if (this.#unwatch) return;
    this.#lastBeat = this.#lastSeen = this.now();
    this.#unwatch = this.watchResume(() => {
      this.#resumed = true;
    });
  }

  stop(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  /** The periodic tick ran at `now`. */
  beat(now: number): void {
    this.check(now);
    this.#lastBeat = Math.max(this.#lastBeat, now);
  }

  /** Notes that the event loop ran at `now`; true while packets must be checked cluster-wide. Never true before start(). */
  check(now: number): boolean {
    if (!this.#unwatch) return false;
    const overdue = now - this.#lastBeat > this.beatMs + STALL_MS;
    if (overdue || this.#resumed) {
      // A longer freeze queued more requests: check for at least as long as it lasted (bounded).
      const frozen = now - (overdue ? this.#lastBeat : this.#lastSeen);
      this.#recheckUntil = Math.max(this.#recheckUntil, now + Math.min(Math.max(RECHECK_MS, frozen), MAX_RECHECK_MS));
      this.#resumed = false;
      // Counted once: the next beat is due a period from now.
      if (overdue) this.#lastBeat = now;
    }
    this.#lastSeen = Math.max(this.#lastSeen, now);
    return now < this.#recheckUntil;
  }
}
