import { randomBytes } from "node:crypto";
import { type ClusterKey, deriveClusterKey, type Keyring } from "./keyring.ts";

/**
 * Gossip key rotation in CA mode, where no operator holds the key: it was made by the first
 * node asked to admit someone and is handed over in handshakes. A member removed for an expired
 * certificate still holds it; rotating makes a new key that travels only in handshakes (both
 * sides show a valid certificate), never in /sync, so a removed member cannot learn it.
 *
 * A rotated key's material says when it was made (magic | ms since the epoch | random), so every
 * node agrees which key is newest without asking anyone:
 * - a node sends with the newest key it holds once it has held it for `settleMs` (time for the
 *   rotating node's handshakes to reach every member);
 * - once it has sent with it for `retireMs`, it drops every older key: traffic under them, the
 *   removed member's included, is refused from then on. A member that missed the rotation is
 *   refused too (403 on /sync) and gets the new key back through the handshake, as after a restart.
 */
const MAGIC = Buffer.from("dsR1");

export function newRotationKey(nowMs: number): ClusterKey {
  const m = Buffer.alloc(32);
  MAGIC.copy(m, 0);
  m.writeBigUInt64BE(BigInt(Math.floor(nowMs)), 4);
  randomBytes(20).copy(m, 12);
  return deriveClusterKey(m);
}

/** When a rotated key was made (ms); 0 for the key a cluster started with. */
export function bornAt(k: ClusterKey): number {
  return k.material.subarray(0, 4).equals(MAGIC) ? Number(k.material.readBigUInt64BE(4)) : 0;
}

export const isRotated = (k: ClusterKey): boolean => bornAt(k) > 0;

export class KeyRotation {
  /** When this node first held each key, and when its send key started sending. */
  readonly #heldSince = new Map<string, number>();
  #sendingSince = 0;
  #sendKid: string | undefined;

  constructor(
    private readonly keyring: Keyring,
    private readonly clock: () => number = Date.now,
    private readonly settleMs = 5000,
    private readonly retireMs = 30_000,
  ) {}

  /** Make a new key and accept it; the caller hands it to the members. */
  start(): ClusterKey {
    const k = newRotationKey(this.clock());
    this.keyring.add([k]);
    this.#heldSince.set(k.kid, this.clock());
    return k;
  }

  /** Promote and retire as the rules say (run every second or so). Returns what changed, for the log. */
  step(): string | undefined {
    const now = this.clock();
    const keys = this.keyring.all();
    for (const k of keys) if (!this.#heldSince.has(k.kid)) this.#heldSince.set(k.kid, now);
    for (const kid of this.#heldSince.keys()) if (!keys.some((k) => k.kid === kid)) this.#heldSince.delete(kid);
    const send = this.keyring.sendKey;
    if (!send) return undefined;
    if (send.kid !== this.#sendKid) {
      this.#sendKid = send.kid;
      this.#sendingSince = now;
    }
    let newest = send;
    for (const k of keys) if (bornAt(k) > bornAt(newest) && now - this.#heldSince.get(k.kid)! >= this.settleMs) newest = k;
    if (newest !== send) {
      this.keyring.setSend(newest);
      this.#sendKid = newest.kid;
      this.#sendingSince = now;
      return `gossip key rotation: sending with key id ${newest.kid}`;
    }
    if (!isRotated(send) || now - this.#sendingSince < this.retireMs) return undefined;
    const older = keys.filter((k) => bornAt(k) < bornAt(send));
    for (const k of older) this.keyring.remove(k.kid);
    return older.length > 0 ? `gossip key rotation: dropped key id ${older.map((k) => k.kid).join(", ")}` : undefined;
  }
}
