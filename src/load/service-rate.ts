/**
 * A node's measured capacity for a user handler, the lower of two estimates:
 * - what the handler can do: exponentially weighted averages of the units and the seconds each
 *   finished packet ran, times the packets that run in parallel;
 * - what the node does: units finished per second of wall time while packets were waiting (so
 *   the node's own overhead — the main thread handing packets to Workers and taking results —
 *   counts; a trivial handler is limited by that, not by itself).
 * Until a few packets have finished (and never above it) the operator's --promised_capacity
 * stands. Averaging units and seconds separately (not their ratio per packet) keeps one tiny,
 * fast packet from swinging the estimate.
 */
const ALPHA = 0.05;
const WARMUP = 5;
/** A packet that finished in no measurable time still took some. */
const MIN_SECONDS = 1e-4;

export class ServiceRate {
  #units = 0;
  #seconds = 0;
  #n = 0;
  /** Throughput while backlogged: averaged units per completion and seconds between completions. */
  #tUnits = 0;
  #tSeconds = 0;
  #tn = 0;

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

  /** `units` finished `seconds` after the previous completion, with packets waiting all along. */
  observeBacklogged(units: number, seconds: number): void {
    const s = Math.max(1e-6, seconds);
    if (this.#tn === 0) {
      this.#tUnits = units;
      this.#tSeconds = s;
    } else {
      this.#tUnits += ALPHA * (units - this.#tUnits);
      this.#tSeconds += ALPHA * (s - this.#tSeconds);
    }
    this.#tn++;
  }

  get measured(): boolean {
    return this.#n >= WARMUP;
  }

  /** Units per second over all slots. */
  capacity(): number {
    if (!this.measured) return this.ceiling;
    const handler = (this.slots * this.#units) / this.#seconds;
    const node = this.#tn >= WARMUP * 4 ? this.#tUnits / this.#tSeconds : Number.POSITIVE_INFINITY;
    return Math.min(this.ceiling, handler, node);
  }
}
