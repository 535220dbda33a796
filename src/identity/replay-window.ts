/**
 * Sliding anti-replay window over a sender's packet counters (the IPsec / WireGuard scheme):
 * counters above the highest seen are fresh, ones inside the window are fresh once, older
 * ones are replays. `check` only looks; `commit` records, after the packet authenticated.
 */
export const WINDOW_BITS = 1024;

export class ReplayWindow {
  #top = -1;
  readonly #bits = new Uint32Array(WINDOW_BITS / 32);

  check(n: number): boolean {
    if (n > this.#top) return true;
    if (this.#top - n >= WINDOW_BITS) return false;
    const i = n % WINDOW_BITS;
    return (this.#bits[i >>> 5]! & (1 << (i & 31))) === 0;
  }

  commit(n: number): void {
    if (n > this.#top) {
      if (n - this.#top >= WINDOW_BITS) this.#bits.fill(0);
      else for (let c = this.#top + 1; c < n; c++) this.#clear(c % WINDOW_BITS);
      this.#top = n;
      this.#clear(n % WINDOW_BITS);
    }
    const i = n % WINDOW_BITS;
    this.#bits[i >>> 5]! |= 1 << (i & 31);
  }

  #clear(i: number): void {
    this.#bits[i >>> 5]! &= ~(1 << (i & 31));
  }
}
