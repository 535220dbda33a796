/**
 * A node's measured capacity for a user handler: exponentially weighted averages of the units
 * and the seconds each finished packet took, times the packets that run in parallel. Until a few
 * packets have finished (and never above it) the operator's --promised_capacity stands.
 * Averaging units and seconds separately (not their ratio per packet) keeps one tiny, fast
 * packet from swinging the estimate.
 */
const ALPHA = 0.05;
const WARMUP = 5;
/** A packet that finished in no measurable time still took some. */
const MIN_SECONDS = 1e-4;

export class ServiceRate {
  #units = 0;
  #seconds = 0;
  #n = 0;

  constructor(
    readonly slots: number,
    /** --promised_capacity: the ceiling, and the figure until measured. */
    readonly ceiling: number,
  ) {}

  observe(units: number, seconds: number): void {
    const s = Math.max(MIN_SECONDS, seconds);
    if (this.#n === 0) {
      this.#units = units;
      this.#seconds = s;
    } else {
      this.#units += ALPHA * (units - this.#units);
      this.#seconds += ALPHA * (s - this.#seconds);
    }
    this.#n++;
  }

  get measured(): boolean {
    return this.#n >= WARMUP;
  }

  /** Units per second over all slots. */
  capacity(): number {
    if (!this.measured) return this.ceiling;
    return Math.min(this.ceiling, (this.slots * this.#units) / this.#seconds);
  }
}
