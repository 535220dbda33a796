/**
 * A node's work queue as a fluid model: work joins in units and drains continuously at the
 * promised capacity (units per second). Nothing runs per packet; the backlog is computed from
 * the time elapsed, so reading it is O(1) and exact.
 */
export class WorkQueue {
  #backlog = 0;
  #at: number;
  #added = 0;

  /** `capacity` in units per second; `now` in milliseconds. */
  constructor(
    readonly capacity: number,
    now: number,
  ) {
    if (!(capacity > 0)) throw new RangeError("capacity must be positive");
    this.#at = now;
  }

  #drain(now: number): void {
    if (now <= this.#at) return;
    this.#backlog = Math.max(0, this.#backlog - (this.capacity * (now - this.#at)) / 1000);
    this.#at = now;
  }

  /** Queue `units` of work. */
  add(now: number, units: number): void {
    this.#drain(now);
    this.#backlog += units;
    this.#added += units;
  }

  /** Units still queued. */
  backlog(now: number): number {
    this.#drain(now);
    return this.#backlog;
  }

  /** Seconds of queued work: backlog / capacity. */
  loadRatio(now: number): number {
    return this.backlog(now) / this.capacity;
  }

  /** Units ever queued. */
  get added(): number {
    return this.#added;
  }

  /** Units that have finished processing. */
  processed(now: number): number {
    return this.#added - this.backlog(now);
  }
}
