/**
 * Round trip of SWIM pings, measured at the runtime edge from the datagrams themselves: a ping
 * this node sends opens a sequence number, the first ack carrying it closes it. Sequence numbers
 * come from one per-node counter, so they are unique for the pings we send (direct probes and
 * relayed ones alike). Pure: the caller passes the clock.
 */
export class ProbeRtt {
  readonly #pending = new Map<number, number>();

  constructor(
    /** Forget pings older than this: their ack is not coming, or too late to matter. */
    private readonly maxAgeMs = 10_000,
    /** Bound on open pings, so a flood of sends cannot grow memory. */
    private readonly maxPending = 4096,
  ) {}

  sent(seq: number, now: number): void {
    if (this.#pending.size >= this.maxPending) this.#expire(now);
    if (this.#pending.size >= this.maxPending) {
      // Still full: drop the oldest (Map keeps insertion order).
      const oldest = this.#pending.keys().next().value;
      if (oldest !== undefined) this.#pending.delete(oldest);
    }
    this.#pending.set(seq, now);
  }

  /** The round trip in ms if `seq` is one of our open pings, else undefined. */
  acked(seq: number, now: number): number | undefined {
    const at = this.#pending.get(seq);
    if (at === undefined) return undefined;
    this.#pending.delete(seq);
    const rtt = now - at;
    return rtt >= 0 && rtt <= this.maxAgeMs ? rtt : undefined;
  }

  get pending(): number {
    return this.#pending.size;
  }

  #expire(now: number): void {
    for (const [seq, at] of this.#pending) {
      if (now - at <= this.maxAgeMs) break;
      this.#pending.delete(seq);
    }
  }
}
