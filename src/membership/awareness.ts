/**
 * Lifeguard's local health awareness. A node that misses its own acks and nacks is more likely
 * slow itself than surrounded by failures: its score rises and stretches its own probe interval
 * and timeouts, so it blames others less.
 */
export class Awareness {
  #score = 0;

  constructor(private readonly max: number) {}

  get score(): number {
    return this.#score;
  }

  apply(delta: number): void {
    this.#score = Math.min(this.max, Math.max(0, this.#score + delta));
  }

  scale(ms: number): number {
    return ms * (this.#score + 1);
  }
}
