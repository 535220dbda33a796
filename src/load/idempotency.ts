/**
 * What this node knows about recently seen packet ids. Bounded twice: entries expire after
 * `ttlMs`, and the oldest are dropped beyond `maxEntries`, so a flood of unique ids costs bounded
 * memory. Map iteration order is insertion order, so expiry is a scan from the front that stops
 * at the first live entry; it runs at most every `sweepMs` (the hot path must not pay for an
 * iterator per request), and lookups check the age themselves.
 *
 * A record is one of:
 * - `pending`: a request for it is being handled here right now (checking other nodes or
 *   forwarding); its outcome is not known yet;
 * - `done`: the work went to `handledBy` (this node or the peer it was forwarded to) — a fact;
 * - `asked`: never requested here, but other nodes asked about it (a device retried there after
 *   trying here). If the original still arrives here, those nodes are checked before taking it.
 */
export type PacketState = "pending" | "done" | "asked";

export interface PacketRecord {
  state: PacketState;
  /** `done`: where the work is; `pending`: this node. */
  handledBy: string;
  /** `asked`: the nodes that asked. */
  askers?: string[];
  at: number;
}

const MAX_ASKERS = 8;

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

  /** The record for `id`, if any within the window. */
  get(now: number, id: string): PacketRecord | undefined {
    this.#expire(now);
    const r = this.#entries.get(id);
    return r && now - r.at < this.ttlMs ? r : undefined;
  }

  /**
   * A request for `id` arrives. Unless it is already pending or done (returned: a duplicate),
   * it becomes pending here; a previous `asked` record is returned so the caller can check the
   * askers first. Undefined means the id is new.
   */
  begin(now: number, id: string, self: string): PacketRecord | undefined {
    const r = this.get(now, id);
    if (r && r.state !== "asked") return r;
    if (r === undefined) this.#entries.delete(id); // an expired leftover: re-insert at the back
    this.#entries.set(id, { state: "pending", handledBy: self, at: now });
    this.#bound();
    return r;
  }

  /** Record that `id` is being handled by `handledBy` (a packet taken over from a dead node). */
  record(now: number, id: string, handledBy: string): void {
    this.#entries.delete(id);
    this.#entries.set(id, { state: "done", handledBy, at: now });
    this.#bound();
  }

  /** The work for `id` went to `handledBy`. */
  settle(id: string, handledBy: string): void {
    const r = this.#entries.get(id);
    if (r) {
      r.state = "done";
      r.handledBy = handledBy;
      r.askers = undefined;
    }
  }

  /**
   * We stepped back from `id` without an outcome (503: a copy in progress elsewhere, or a node
   * that may have it did not answer). A retry must be processed here, but first checked with
   * `maybeAt` (kept as askers), so what we learned is not lost with the pending record.
   */
  release(now: number, id: string, maybeAt: readonly string[]): void {
    const askers = [...new Set(maybeAt)].slice(0, MAX_ASKERS);
    if (askers.length === 0) {
      this.forget(id);
      return;
    }
    this.#entries.delete(id);
    this.#entries.set(id, { state: "asked", handledBy: "", askers, at: now });
    this.#bound();
  }

  /** Drop `id` (the packet was refused here, so a retry must be processed). */
  forget(id: string): void {
    this.#entries.delete(id);
  }

  /**
   * Another node asks about `id`. Returns what we know (pending or done); if we know nothing,
   * remembers the asker and returns undefined.
   */
  ask(now: number, id: string, asker: string): PacketRecord | undefined {
    const r = this.get(now, id);
    if (r && r.state !== "asked") return r;
    if (r) {
      if (!r.askers!.includes(asker) && r.askers!.length < MAX_ASKERS) r.askers!.push(asker);
      return undefined;
    }
    this.#entries.delete(id);
    this.#entries.set(id, { state: "asked", handledBy: "", askers: [asker], at: now });
    this.#bound();
    return undefined;
  }

  #bound(): void {
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
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
