/**
 * Which packet ids this node has seen recently and where each one went. Bounded twice: entries
 * expire after `ttlMs`, and the oldest are dropped beyond `maxEntries`, so a flood of unique
 * ids costs bounded memory. Map iteration order is insertion order, so expiry is a scan from
 * the front that stops at the first live entry.
 */
export interface PacketRecord {
  /** "ip:port" of the node that has (or is getting) the work. */
  handledBy: string;
  at: number;
}

export class IdempotencyWindow {
  readonly #entries = new Map<string, PacketRecord>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The record for `id`, if seen within the window. */
  get(now: number, id: string): PacketRecord | undefined {
    this.#expire(now);
    return this.#entries.get(id);
  }

  /**
   * Record `id` unless already present. Returns the existing record when it was a duplicate,
   * undefined when `id` is new (and now recorded).
   */
  claim(now: number, id: string, handledBy: string): PacketRecord | undefined {
    this.#expire(now);
    const seen = this.#entries.get(id);
    if (seen) return seen;
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
    for (const [id, r] of this.#entries) {
      if (now - r.at < this.ttlMs) return;
      this.#entries.delete(id);
    }
  }
}
