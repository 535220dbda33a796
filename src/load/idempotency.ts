/**
 * Which packet ids this node has seen recently and where each one went. Bounded twice: entries
 * expire after `ttlMs`, and the oldest are dropped beyond `maxEntries`, so a flood of unique
 * ids costs bounded memory. Map iteration order is insertion order, so expiry is a scan from
 * the front that stops at the first live entry; it runs at most every `sweepMs` (the hot path
 * must not pay for an iterator per request), and lookups check the age themselves.
 */
export interface PacketRecord {
  /** "ip:port" of the node that has (or is getting) the work. */
  handledBy: string;
  at: number;
}

export class IdempotencyWindow {
  readonly #entries = new Map<string, PacketRecord>();
  readonly #sweepMs: number;
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {
    this.#sweepMs = Math.min(1000, ttlMs / 10);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The record for `id`, if seen within the window. */
  get(now: number, id: string): PacketRecord | undefined {
    this.#expire(now);
    const r = this.#entries.get(id);
    return r && now - r.at < this.ttlMs ? r : undefined;
  }

  /**
   * Record `id` unless already present. Returns the existing record when it was a duplicate,
   * undefined when `id` is new (and now recorded).
   */
  claim(now: number, id: string, handledBy: string): PacketRecord | undefined {
    this.#expire(now);
    const seen = this.#entries.get(id);
    if (seen && now - seen.at < this.ttlMs) return seen;
    if (seen) this.#entries.delete(id); // expired: re-insert at the back
    this.#entries.set(id, { handledBy, at: now });
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    return undefined;
  }

  /** Drop `id` (the packet was refused, so a retry must be processed). */
  forget(id: string): void {
    this.#entries.delete(id);
  }

  /** Change where a recorded packet went (a forward landed elsewhere). Keeps its age. */
  update(id: string, handledBy: string): void {
    const r = this.#entries.get(id);
    if (r) r.handledBy = handledBy;
  }

  #expire(now: number): void {
    if (now - this.#sweptAt < this.#sweepMs) return;
    this.#sweptAt = now;
    for (const [id, r] of this.#entries) {
      if (now - r.at < this.ttlMs) return;
      this.#entries.delete(id);
    }
  }
}
