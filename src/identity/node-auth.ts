import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { ClusterKey, Keyring } from "./keyring.ts";
import { ReplayWindow } from "./replay-window.ts";

/**
 * Requests only nodes make to each other (/packets/ask, a forwarded /handle_request, /stats, a
 * /status check), authenticated with an HMAC under the cluster's node key:
 *
 *   x-dsef-node: <kid>.<sender epoch hex16>.<counter>.<unix ms>.<mac b64url>
 *   mac over: method, target "ip:port", path, epoch, counter, time, body
 *
 * The target is in the MAC, so a request cannot be replayed at another node; replays at the
 * same node are caught by a sliding window over the sender's counter (the datagram scheme: a
 * random epoch per process start, a counter that never repeats in it, 1024 in flight out of
 * order). The counter is kept per target: with one shared counter, a request held up (a slow
 * TLS handshake) while a thousand others went to other nodes would fall out of its receiver's
 * window and be refused as a replay. And a request from an epoch the receiver does not know must be within ±60 s of its
 * clock. What the receiver holds is bounded: at most 4096 epochs, idle ones forgotten.
 */
export const NODE_AUTH_HEADER = "x-dsef-node";
const MAX_EPOCHS = 4096;
const MAX_TARGETS = 4096;
const FORMAT = /^([0-9a-f]{8})\.([0-9a-f]{16})\.(\d{1,10})\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/;

export type NodeCheck = { ok: true } | { ok: false; status: 401; reason: string };
type Parsed = { kid: string; epoch: string; counter: number; ts: string; mac: string; key: ClusterKey };

export interface NodeAuthStats {
  accepted: number;
  refused: { total: number; missing: number; malformed: number; unknownKey: number; stale: number; badMac: number; replayed: number };
}

export class NodeAuth {
  #epoch = randomBytes(8).toString("hex");
  /** Per target "ip:port" in this epoch; a new epoch starts when churn has filled it. */
  readonly #counters = new Map<string, number>();
  readonly #epochs = new Map<string, { window: ReplayWindow; lastSeen: number }>();
  readonly stats: NodeAuthStats = { accepted: 0, refused: { total: 0, missing: 0, malformed: 0, unknownKey: 0, stale: 0, badMac: 0, replayed: 0 } };

  constructor(
    private readonly keyring: Keyring,
    private readonly maxSkewMs = 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The header for a request to `target` ("ip:port"); none while this node holds no cluster key. */
  sign(method: string, target: string, path: string, body = ""): Record<string, string> {
    const key = this.keyring.sendKey;
    if (!key) return {};
    // A new epoch when churn has filled the table, or a counter would pass 32 bits.
    if ((this.#counters.size >= MAX_TARGETS && !this.#counters.has(target)) || (this.#counters.get(target) ?? 0) >= 0xffffffff) {
      this.#epoch = randomBytes(8).toString("hex");
      this.#counters.clear();
    }
    const counter = (this.#counters.get(target) ?? 0) + 1;
    this.#counters.set(target, counter);
    const ts = String(this.clock());
    const mac = macOf(key, method, target, path, this.#epoch, counter, ts, body);
    return { [NODE_AUTH_HEADER]: `${key.kid}.${this.#epoch}.${counter}.${ts}.${mac}` };
  }

  /**
   * What can be checked without the body (format, key, time, replay window): a request that
   * fails here is refused before its body is read.
   */
  precheck(header: string | null): NodeCheck {
    const p = this.#parse(header);
    return "ok" in p ? p : { ok: true };
  }

  /** The full check, for a request to `self` ("ip:port") with this body; records its counter. */
  check(header: string | null, method: string, self: string, path: string, body = ""): NodeCheck {
    const p = this.#parse(header);
    if ("ok" in p) return p;
    const want = macOf(p.key, method, self, path, p.epoch, p.counter, p.ts, body);
    if (!equal(want, p.mac)) return this.#fail("badMac", "node request authentication failed (wrong cluster key, or meant for another node)");
    const now = this.clock();
    let e = this.#epochs.get(p.epoch);
    if (!e) {
      if (this.#epochs.size >= MAX_EPOCHS) {
        for (const [k, x] of this.#epochs) if (now - x.lastSeen > 2 * this.maxSkewMs) this.#epochs.delete(k);
        if (this.#epochs.size >= MAX_EPOCHS) return this.#fail("stale", "too many node epochs; retry");
      }
      e = { window: new ReplayWindow(), lastSeen: now };
      this.#epochs.set(p.epoch, e);
    }
    if (!e.window.check(p.counter)) return this.#fail("replayed", "replayed node request");
    e.window.commit(p.counter);
    e.lastSeen = now;
    this.stats.accepted++;
    return { ok: true };
  }

  #parse(header: string | null): Parsed | (NodeCheck & { ok: false }) {
    if (!header) return this.#fail("missing", "node authentication required: this route is for the cluster's nodes");
    const m = FORMAT.exec(header);
    if (!m) return this.#fail("malformed", `malformed ${NODE_AUTH_HEADER} header`);
    const [, kid, epoch, counter, ts, mac] = m as unknown as [string, string, string, string, string, string];
    const key = this.keyring.get(kid);
    if (!key) return this.#fail("unknownKey", "cluster key not accepted here");
    if (Math.abs(Number(ts) - this.clock()) > this.maxSkewMs) return this.#fail("stale", "node request time outside the allowed clock skew");
    const e = this.#epochs.get(epoch);
    if (e && !e.window.check(Number(counter))) return this.#fail("replayed", "replayed node request");
    return { kid, epoch, counter: Number(counter), ts, mac, key };
  }

  #fail(why: keyof NodeAuthStats["refused"], reason: string): NodeCheck & { ok: false } {
    this.stats.refused[why]++;
    this.stats.refused.total++;
    return { ok: false, status: 401, reason };
  }
}

function macOf(key: ClusterKey, method: string, target: string, path: string, epoch: string, counter: number, ts: string, body: string): string {
  return createHmac("sha256", key.node)
    .update(`dsef/v1 node request\n${method}\n${target}\n${path}\n${epoch}\n${counter}\n${ts}\n`)
    .update(body)
    .digest("base64url");
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.byteLength === y.byteLength && timingSafeEqual(x, y);
}
