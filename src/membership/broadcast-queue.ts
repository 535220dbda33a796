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
  /** buckets[t] holds the entries sent t times, in insertion order; counts[t] how many (read on every datagram, where Set.size is a call). */
  readonly #buckets: Set<Entry>[] = [];
  readonly #counts: number[] = [];

  constructor(private readonly sizeOf: (u: Update) => number) {}

  get length(): number {
    return this.#byKey.size;
  }

  enqueue(update: Update): void {
    const key = keyOf(update);
    const old = this.#byKey.get(key);
    if (old) this.#unfile(old);
    const e: Entry = { key, update, size: this.sizeOf(update), transmits: 0 };
    this.#byKey.set(key, e);
    this.#file(e);
  }

  /** Take updates that fit in `budget` bytes; each taken one counts a transmission. */
  take(budget: number, limit: number): Update[] {
    let unseen = this.#byKey.size;
    if (unseen === 0 || budget <= 0) return [];
    const taken: Entry[] = [];
    let left = budget;
    // Most buckets are empty (entries move up one per send): skipped without touching them.
    scan: for (let t = 0; t < this.#buckets.length && unseen > 0; t++) {
      const n = this.#counts[t]!;
      if (n === 0) continue;
      unseen -= n;
      for (const e of this.#buckets[t]!) {
        if (e.size > left) continue;
        left -= e.size;
        taken.push(e);
        if (left < 16) break scan;
      }
    }
    for (const e of taken) {
      this.#unfile(e);
      e.transmits++;
      if (e.transmits >= limit) this.#byKey.delete(e.key);
      else this.#file(e);
    }
    return taken.map((e) => e.update);
  }

  /** Drop everything (used after leaving, when only the `left` claim matters). */
  clear(): void {
    this.#byKey.clear();
    this.#buckets.length = 0;
    this.#counts.length = 0;
  }

  #file(e: Entry): void {
    const t = e.transmits;
    while (this.#buckets.length <= t) {
      this.#buckets.push(new Set());
      this.#counts.push(0);
    }
    this.#buckets[t]!.add(e);
    this.#counts[t]!++;
  }

  #unfile(e: Entry): void {
    if (this.#buckets[e.transmits]!.delete(e)) this.#counts[e.transmits]!--;
  }
}
