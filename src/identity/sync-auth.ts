import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isRotated } from "./key-rotation.ts";
import { type ClusterKey, deriveClusterKey, type Keyring } from "./keyring.ts";
import { unwrapKeys, wrapKeys } from "./wrap.ts";

/**
 * /sync between members, authenticated with an HMAC under the cluster's sync key:
 *   request  x-dsef-auth: <kid>.<unix ms>.<nonce hex>.<mac b64url>   mac over ts, nonce, body
 *   response x-dsef-auth: <mac b64url>                               mac over the request nonce, body
 * Requests older or newer than the skew, or with a nonce already seen, are refused, so a
 * captured request cannot be replayed. In CA mode the keyring rides along (x-dsef-keys),
 * encrypted, so keys that two halves created separately spread to everyone.
 */
export const AUTH_HEADER = "x-dsef-auth";
export const KEYS_HEADER = "x-dsef-keys";
const MAX_NONCES = 100_000;

const mac = (key: ClusterKey, parts: readonly string[]): string => createHmac("sha256", key.sync).update(parts.join("\n")).digest("base64url");

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.byteLength === y.byteLength && timingSafeEqual(x, y);
}

export type SyncCheck = { ok: true; key: ClusterKey; nonce: string } | { ok: false; status: 401 | 403; reason: string };

export class SyncAuth {
  /** Nonces seen, with their request's time, oldest first. */
  readonly #seen = new Map<string, number>();
  /**
   * Requests must be newer than this (ms): nonces forgotten to keep the table bounded were all
   * of requests no newer, so a replay of one of them is still refused.
   */
  #floorMs = 0;
  readonly stats = { accepted: 0, refused: 0 };

  constructor(
    private readonly keyring: Keyring,
    /** CA mode: spread the keyring along with syncs. */
    private readonly shareKeys: boolean,
    private readonly maxSkewMs = 60_000,
    private readonly clock: () => number = Date.now,
    private readonly maxNonces = MAX_NONCES,
  ) {}

  /** Nonces held. */
  get nonces(): number {
    return this.#seen.size;
  }

  /** Headers for a request with this body (throws when there is no key to send with yet). */
  sign(body: string): { headers: Record<string, string>; nonce: string; key: ClusterKey } {
    const key = this.keyring.sendKey;
    if (!key) throw new Error("no cluster key yet (not admitted)");
    const ts = String(this.clock());
    const nonce = randomBytes(16).toString("hex");
    const headers: Record<string, string> = { [AUTH_HEADER]: `${key.kid}.${ts}.${nonce}.${mac(key, ["dsef/v1 sync request", ts, nonce, body])}` };
    if (this.shareKeys) headers[KEYS_HEADER] = this.#wrap(key, nonce);
    return { headers, nonce, key };
  }

  /**
   * Everything that can be checked without the body (format, key id, time, nonce), so a caller
   * without a credential is refused before its body is read. Undefined when it may go on.
   */
  precheck(header: string | null): (SyncCheck & { ok: false }) | undefined {
    const r = this.#headerCheck(header);
    return r.ok ? undefined : r;
  }

  check(header: string | null, body: string, keysHeader: string | null): SyncCheck {
    const h = this.#headerCheck(header);
    if (!h.ok) return h;
    const { key, ts, nonce, tag, now } = h;
    if (!equal(tag, mac(key, ["dsef/v1 sync request", ts, nonce, body]))) return this.#fail(403, "request authentication failed");
    this.#remember(nonce, Number(ts), now);
    if (keysHeader && this.shareKeys) this.#learn(key, nonce, keysHeader);
    this.stats.accepted++;
    return { ok: true, key, nonce };
  }

  #fail(status: 401 | 403, reason: string): SyncCheck & { ok: false } {
    this.stats.refused++;
    return { ok: false, status, reason };
  }

  #headerCheck(header: string | null): { ok: true; key: ClusterKey; ts: string; nonce: string; tag: string; now: number } | (SyncCheck & { ok: false }) {
    if (!header) return this.#fail(401, "authentication required: this cluster does not accept unauthenticated sync");
    const m = /^([0-9a-f]{8})\.(\d{1,16})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/.exec(header);
    if (!m) return this.#fail(401, `malformed ${AUTH_HEADER} header`);
    const [, kid, ts, nonce, tag] = m as unknown as [string, string, string, string, string];
    const key = this.keyring.get(kid);
    if (!key) return this.#fail(403, "cluster key not accepted here");
    const now = this.clock();
    if (Math.abs(Number(ts) - now) > this.maxSkewMs) return this.#fail(401, "request time outside the allowed clock skew");
    if (Number(ts) <= this.#floorMs) return this.#fail(401, "request older than this node can check for replays; retry");
    if (this.#seen.has(nonce)) return this.#fail(401, "replayed request");
    return { ok: true, key, ts, nonce, tag, now };
  }

  responseHeaders(key: ClusterKey, nonce: string, body: string): Record<string, string> {
    const h: Record<string, string> = { [AUTH_HEADER]: mac(key, ["dsef/v1 sync response", nonce, body]) };
    if (this.shareKeys) h[KEYS_HEADER] = this.#wrap(key, `r${nonce}`);
    return h;
  }

  /** Does the response come from a holder of the key we asked with? */
  checkResponse(key: ClusterKey, nonce: string, body: string, header: string | null, keysHeader: string | null): boolean {
    if (!header || !equal(header, mac(key, ["dsef/v1 sync response", nonce, body]))) return false;
    if (keysHeader && this.shareKeys) this.#learn(key, `r${nonce}`, keysHeader);
    return true;
  }

  /** The keys a cluster started with spread with syncs; rotated ones only in handshakes (see key-rotation.ts). */
  #wrap(key: ClusterKey, aad: string): string {
    return wrapKeys(
      key.wrap,
      this.keyring
        .all()
        .filter((k) => !isRotated(k))
        .map((k) => k.material),
      aad,
    );
  }

  #learn(key: ClusterKey, aad: string, wrapped: string): void {
    const keys = unwrapKeys(key.wrap, wrapped, aad);
    if (keys) this.keyring.add(keys.map(deriveClusterKey));
  }

  /** Bounded: when full, the oldest nonces go (first those past the skew) and the floor rises past them. */
  #remember(nonce: string, ts: number, now: number): void {
    for (const [n, t] of this.#seen) {
      if (this.#seen.size < this.maxNonces && now - t <= this.maxSkewMs) break;
      this.#seen.delete(n);
      if (now - t <= this.maxSkewMs) this.#floorMs = Math.max(this.#floorMs, Math.min(t, now));
    }
    this.#seen.set(nonce, ts);
  }
}
