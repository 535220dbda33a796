/**
 * What this node knows about recently seen packet ids. Bounded three ways: entries expire after
 * `ttlMs`, and the oldest are dropped beyond `maxEntries` or beyond `maxBytes` (ids and
 * addresses come from outside and vary in length), so a flood of unique ids costs bounded
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
/** Map entry, record object and strings: an estimate of what one record holds in memory. */
const RECORD_OVERHEAD = 120;

function costOf(id: string, r: PacketRecord): number {
  let chars = id.length + r.handledBy.length;
  if (r.askers) for (const a of r.askers) chars += a.length;
  return RECORD_OVERHEAD + 2 * chars;
}

export class IdempotencyWindow {
  readonly #entries = new Map<string, PacketRecord>();
  readonly #sweepMs: number;
  #sweptAt = Number.NEGATIVE_INFINITY;
  #bytes = 0;

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
    readonly maxBytes = 48 * 1024 * 1024,
  ) {
    this.#sweepMs = Math.min(1000, ttlMs / 10);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Estimated memory held by the records. */
  get bytes(): number {
    return this.#bytes;
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
    this.#put(id, { state: "pending", handledBy: self, at: now });
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
      this.#bytes -= costOf(id, r);
      r.state = "done";
      r.handledBy = handledBy;
      r.askers = undefined;
      this.#bytes += costOf(id, r);
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
    this.#put(id, { state: "asked", handledBy: "", askers, at: now });
  }

  /** Drop `id` (the packet was refused here, so a retry must be processed). */
  forget(id: string): void {
    const r = this.#entries.get(id);
    if (!r) return;
    this.#bytes -= costOf(id, r);
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
      if (!r.askers!.includes(asker) && r.askers!.length < MAX_ASKERS) {
        r.askers!.push(asker);
        this.#bytes += 2 * asker.length;
        this.#bound();
      }
      return undefined;
    }
    this.#put(id, { state: "asked", handledBy: "", askers: [asker], at: now });
    return undefined;
  }

  /** Insert or replace `id`'s record at the back (newest), then drop the oldest beyond the bounds. */
  #put(id: string, r: PacketRecord): void {
    this.forget(id);
    this.#entries.set(id, r);
    this.#bytes += costOf(id, r);
    this.#bound();
  }

  #bound(): void {
    while (this.#entries.size > this.maxEntries || (this.#bytes > this.maxBytes && this.#entries.size > 1)) this.forget(this.#entries.keys().next().value!);
  }

  #expire(now: number): void {
    if (now - this.#sweptAt < this.#sweepMs) return;
    this.#sweptAt = now;
    for (const [id, r] of this.#entries) {
      if (now - r.at < this.ttlMs) return;
      this.forget(id);
    }
  }
}
