/**
 * Keys (device ids) with a time each — when last seen, or a time to remember — and how many
 * were seen within a window. A Map for lookups and a FIFO of sightings for expiry (see fifo.ts:
 * trimming a Map from its front is slow in JavaScriptCore). At most `max` keys are kept, the
 * oldest going first; the FIFO is rebuilt from the Map when stale sightings pile up.
 */
import { Fifo } from "./fifo.ts";

export class RecentKeys {
  readonly #last = new Map<string, number>();
  #order = new Fifo<{ key: string; t: number }>();

  constructor(readonly max: number) {}

  see(key: string, t: number): void {
    this.#last.set(key, t);
    this.#order.push({ key, t });
    if (this.#last.size > this.max) this.#evictOldest();
    if (this.#order.length > 4 * this.max) this.#rebuild();
  }

  /** `see`, unless the key was seen less than `minGapMs` ago (the hot path: no allocation). */
  touch(key: string, t: number, minGapMs: number): void {
    const last = this.#last.get(key);
    if (last === undefined || t - last >= minGapMs) this.see(key, t);
  }

  get(key: string): number | undefined {
    return this.#last.get(key);
  }

  /** Keys seen within the last `windowMs` (older ones are forgotten). */
  count(now: number, windowMs: number): number {
    for (let e = this.#order.peek(); e !== undefined && now - e.t > windowMs; e = this.#order.peek()) {
      this.#order.shift();
      if (this.#last.get(e.key) === e.t) this.#last.delete(e.key);
    }
    return this.#last.size;
  }

  #evictOldest(): void {
    for (let e = this.#order.shift(); e !== undefined; e = this.#order.shift()) {
      if (this.#last.get(e.key) !== e.t) continue;
      this.#last.delete(e.key);
      return;
    }
  }

  #rebuild(): void {
    const order = new Fifo<{ key: string; t: number }>();
    for (const [key, t] of [...this.#last].sort((a, b) => a[1] - b[1])) order.push({ key, t });
    this.#order = order;
  }
}
