/**
 * Coalesces events into batches, so a burst (a partition healing, a rack going down) makes one
 * hook run rather than hundreds. A batch is due once events stop arriving for `quietMs`, or
 * `maxWaitMs` after its first event, whichever comes first; while the hook is still busy with
 * the previous batch, events keep gathering here. At most `maxEvents` are held: beyond that the
 * oldest is dropped and counted (the newest say most about the cluster now). Pure: the caller
 * passes the time.
 */
export interface CoalesceOptions {
  readonly quietMs: number;
  readonly maxWaitMs: number;
  readonly maxEvents: number;
}

export const COALESCE: CoalesceOptions = { quietMs: 250, maxWaitMs: 1000, maxEvents: 1000 };

export class Coalescer<T> {
  #items: T[] = [];
  #first = 0;
  #last = 0;
  /** Events dropped because the batch was full. */
  dropped = 0;

  constructor(readonly opts: CoalesceOptions = COALESCE) {}

  get size(): number {
    return this.#items.length;
  }

  /** Hold one more; returns how many were dropped to make room (0 or 1). */
  add(item: T, now: number): number {
    if (this.#items.length === 0) this.#first = now;
    this.#last = now;
    this.#items.push(item);
    if (this.#items.length <= this.opts.maxEvents) return 0;
    this.#items.shift();
    this.dropped++;
    return 1;
  }

  /** When the batch held is due; undefined when empty. */
  dueAt(): number | undefined {
    if (this.#items.length === 0) return undefined;
    return Math.min(this.#first + this.opts.maxWaitMs, this.#last + this.opts.quietMs);
  }

  /** The batch, oldest first; the coalescer starts empty. */
  take(): T[] {
    const out = this.#items;
    this.#items = [];
    return out;
  }
}
