/**
 * Fair use per client address: a token bucket for the request rate and a count of requests in
 * progress. Pure (the caller passes the time). The table is bounded: an entry whose bucket has
 * refilled and that has nothing in progress carries no information and is dropped when room is
 * needed; if every entry is busy, a new address waits (reason "clients").
 */
export interface LimitOptions {
  /** Requests per second per address; 0 turns the rate limit off. */
  readonly ratePerS: number;
  /** Requests an address may send at once after a quiet spell. */
  readonly burst: number;
  /** Requests in progress per address; 0 turns it off. */
  readonly concurrency: number;
  /** Addresses tracked at once. */
  readonly maxClients: number;
}

export type Refusal = { ok: false; reason: "rate" | "concurrency" | "clients"; retryAfterS: number };
export type Admission = { ok: true } | Refusal;

interface Client {
  tokens: number;
  at: number;
  inFlight: number;
}

const OK: Admission = { ok: true };

/**
 * The key a client is limited under: its IPv4 address, or its IPv6 /64 (one host commonly holds
 * a whole /64, so limiting single IPv6 addresses would limit nothing).
 */
export function clientKey(address: string): string {
  if (address.startsWith("::ffff:") && address.includes(".")) return address.slice(7);
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.split("::");
  const groups = head ? head.split(":") : [];
  // "a:b::c" leaves out zero groups: fill them in so equal prefixes compare equal.
  const missing = 8 - groups.length - (tail ? tail.split(":").length : 0);
  if (address.includes("::")) for (let i = 0; i < missing; i++) groups.push("0");
  if (tail) groups.push(...tail.split(":"));
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, "").toLowerCase())
    .join(":")}::/64`;
}

/** After a room-making scan that freed nothing, skip further scans for this long. */
const SCAN_PAUSE_MS = 100;

export class ClientLimits {
  readonly #clients = new Map<string, Client>();
  #fullSince = Number.NEGATIVE_INFINITY;

  constructor(readonly opts: LimitOptions) {}

  get size(): number {
    return this.#clients.size;
  }

  /** A request from `addr` arrives at `nowMs`. When admitted, call `release(addr)` once it is answered. */
  admit(addr: string, nowMs: number): Admission {
    let c = this.#clients.get(addr);
    if (!c) {
      if (this.#clients.size >= this.opts.maxClients && !this.#makeRoom(nowMs)) return { ok: false, reason: "clients", retryAfterS: 1 };
      c = { tokens: this.opts.burst, at: nowMs, inFlight: 0 };
      this.#clients.set(addr, c);
    }
    if (this.opts.concurrency > 0 && c.inFlight >= this.opts.concurrency) return { ok: false, reason: "concurrency", retryAfterS: 1 };
    if (this.opts.ratePerS > 0) {
      c.tokens = Math.min(this.opts.burst, c.tokens + ((nowMs - c.at) * this.opts.ratePerS) / 1000);
      c.at = nowMs;
      if (c.tokens < 1) return { ok: false, reason: "rate", retryAfterS: Math.max(1, Math.ceil((1 - c.tokens) / this.opts.ratePerS)) };
      c.tokens -= 1;
    }
    c.inFlight++;
    return OK;
  }

  release(addr: string): void {
    const c = this.#clients.get(addr);
    if (c && c.inFlight > 0) c.inFlight--;
  }

  /** Give back a request's token and slot (it turned out to come from a member node). */
  refund(addr: string): void {
    const c = this.#clients.get(addr);
    if (c) c.tokens = Math.min(this.opts.burst, c.tokens + 1);
  }

  /** Drop entries that carry no information (bucket full again, nothing in progress). */
  #makeRoom(nowMs: number): boolean {
    if (nowMs - this.#fullSince < SCAN_PAUSE_MS) return false;
    const before = this.#clients.size;
    for (const [addr, c] of this.#clients) {
      const refilled = this.opts.ratePerS <= 0 || c.tokens + ((nowMs - c.at) * this.opts.ratePerS) / 1000 >= this.opts.burst;
      if (c.inFlight === 0 && refilled) this.#clients.delete(addr);
    }
    if (this.#clients.size < before) return true;
    this.#fullSince = nowMs;
    return false;
  }
}
