import type { Update } from "./types.ts";

interface Entry {
  readonly update: Update;
  readonly size: number;
  /** Insertion order: newer first among equally sent updates. */
  readonly seq: number;
  transmits: number;
}

/** A state claim about a member makes an older one obsolete; load figures queue separately. */
function keyOf(u: Update): string {
  return u.kind === "load" ? `l:${u.id}` : `s:${u.kind === "alive" ? u.info.id : u.id}`;
}

/**
 * memberlist's TransmitLimitedQueue: each update is piggybacked up to `limit` times, least-sent
 * first, newest first among equals, as many as fit in the byte budget of one datagram.
 */
export class BroadcastQueue {
  readonly #entries = new Map<string, Entry>();
  #seq = 0;

  constructor(private readonly sizeOf: (u: Update) => number) {}

  get length(): number {
    return this.#entries.size;
  }

  enqueue(update: Update): void {
    this.#entries.set(keyOf(update), { update, size: this.sizeOf(update), seq: this.#seq++, transmits: 0 });
  }

  /** Take updates that fit in `budget` bytes; each taken one counts a transmission. */
  take(budget: number, limit: number): Update[] {
    if (this.#entries.size === 0 || budget <= 0) return [];
    const ordered = [...this.#entries.entries()].sort(([, a], [, b]) => a.transmits - b.transmits || b.seq - a.seq);
    const out: Update[] = [];
    let left = budget;
    for (const [key, e] of ordered) {
      if (e.size > left) continue;
      left -= e.size;
      out.push(e.update);
      e.transmits++;
      if (e.transmits >= limit) this.#entries.delete(key);
      if (left < 16) break;
    }
    return out;
  }

  /** Drop everything (used after leaving, when only the `left` claim matters). */
  clear(): void {
    this.#entries.clear();
  }
}
