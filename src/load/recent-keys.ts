/**
 * Keys (device ids) with a time each — when last seen, or a time to remember — and how many
 * were seen within a window. A Map in order of the last `see`: it moves its key to the back, so
 * expiry trims from the front (amortized O(1)). At most `max` keys are kept (the oldest go first).
 */
export class RecentKeys {
  readonly #last = new Map<string, number>();

  constructor(readonly max: number) {}

  see(key: string, now: number): void {
    this.#last.delete(key);
    this.#last.set(key, now);
    if (this.#last.size > this.max) this.#last.delete(this.#last.keys().next().value!);
  }

  get(key: string): number | undefined {
    return this.#last.get(key);
  }

  /** Keys seen within the last `windowMs` (older ones are forgotten). */
  count(now: number, windowMs: number): number {
    for (const [k, t] of this.#last) {
      if (now - t <= windowMs) break;
      this.#last.delete(k);
    }
    return this.#last.size;
  }
}
