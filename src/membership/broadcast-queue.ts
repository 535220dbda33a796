import type { Update } from "./types.ts";

interface Entry {
  readonly key: string;
  readonly update: Update;
  readonly size: number;
  transmits: number;
}

/** A state claim about a member makes an older one obsolete; load figures queue separately. */
function keyOf(u: Update): string {
  return u.kind === "load" ? `l:${u.id}` : `s:${u.kind === "alive" ? u.info.id : u.id}`;
}

/**
 * memberlist's TransmitLimitedQueue: each update is piggybacked up to `limit` times, least-sent
 * first, as many as fit in the byte budget of one datagram. Entries sit in buckets by transmit
 * count, so taking a packet's worth costs about what it takes, not a sort of the whole queue.
 */
export class BroadcastQueue {
  readonly #byKey = new Map<string, Entry>();
  /** buckets[t] holds the entries sent t times, in insertion order. */
  readonly #buckets: Set<Entry>[] = [];

  constructor(private readonly sizeOf: (u: Update) => number) {}

  get length(): number {
    return this.#byKey.size;
  }

  enqueue(update: Update): void {
    const key = keyOf(update);
    const old = this.#byKey.get(key);
    if (old) this.#buckets[old.transmits]!.delete(old);
    const e: Entry = { key, update, size: this.sizeOf(update), transmits: 0 };
    this.#byKey.set(key, e);
    this.#bucket(0).add(e);
  }

  /** Take updates that fit in `budget` bytes; each taken one counts a transmission. */
  take(budget: number, limit: number): Update[] {
    if (this.#byKey.size === 0 || budget <= 0) return [];
    const taken: Entry[] = [];
    let left = budget;
    scan: for (const bucket of this.#buckets) {
      // Most buckets are empty (entries move up one per send): no iterator for those.
      if (!bucket || bucket.size === 0) continue;
      for (const e of bucket) {
        if (e.size > left) continue;
        left -= e.size;
        taken.push(e);
        if (left < 16) break scan;
      }
    }
    for (const e of taken) {
      this.#buckets[e.transmits]!.delete(e);
      e.transmits++;
      if (e.transmits >= limit) this.#byKey.delete(e.key);
      else this.#bucket(e.transmits).add(e);
    }
    return taken.map((e) => e.update);
  }

  /** Drop everything (used after leaving, when only the `left` claim matters). */
  clear(): void {
    this.#byKey.clear();
    this.#buckets.length = 0;
  }

  #bucket(t: number): Set<Entry> {
    let b = this.#buckets[t];
    if (!b) {
      b = new Set();
      this.#buckets[t] = b;
    }
    return b;
  }
}
