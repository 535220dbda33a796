import { createHash, hkdfSync, randomBytes } from "node:crypto";

/**
 * The cluster keys a node holds: several accepted (rotation, or keys learned in CA mode), one
 * used to send. Each key is 32 bytes of secret material from which separate keys are derived
 * with HKDF for each use, so a datagram key can never be confused with an HTTP one.
 */
export interface ClusterKey {
  /** 4-byte key id (hex) that travels in the clear so the receiver knows which key to try. */
  readonly kid: string;
  readonly kidBytes: Buffer;
  /** The secret material (kept to hand on in CA mode; never logged). */
  readonly material: Buffer;
  /** AES-256-GCM key for datagrams. */
  readonly gossip: Buffer;
  /** HMAC-SHA256 key for /sync requests and responses. */
  readonly sync: Buffer;
  /** HMAC-SHA256 key for the other requests only nodes make (/packets/ask, forwards, /stats). */
  readonly node: Buffer;
  /** HMAC-SHA256 key proving membership in the join handshake. */
  readonly join: Buffer;
  /** AES-256-GCM key wrapping the keyring when it spreads over /sync (CA mode). */
  readonly wrap: Buffer;
}

const SALT = "dsef/v1 cluster key";
const derive = (material: Buffer, info: string): Buffer => Buffer.from(hkdfSync("sha256", material, SALT, info, 32));

export function deriveClusterKey(material: Uint8Array): ClusterKey {
  const m = Buffer.from(material);
  const kidBytes = createHash("sha256").update("dsef/v1 key id").update(m).digest().subarray(0, 4);
  return {
    kid: kidBytes.toString("hex"),
    kidBytes,
    material: m,
    gossip: derive(m, "gossip"),
    sync: derive(m, "sync"),
    node: derive(m, "node"),
    join: derive(m, "join"),
    wrap: derive(m, "wrap"),
  };
}

/** A shared secret as an operator types it: any string of at least 16 characters. */
export const MIN_SECRET_LENGTH = 16;
export function keyFromSecret(secret: string): ClusterKey {
  if (secret.length < MIN_SECRET_LENGTH) throw new Error(`a cluster key needs at least ${MIN_SECRET_LENGTH} characters (try: openssl rand -base64 32)`);
  return deriveClusterKey(createHash("sha256").update("dsef/v1 secret").update(secret).digest());
}

export function randomClusterKey(): ClusterKey {
  return deriveClusterKey(randomBytes(32));
}

/** Upper bound on held keys, so keys learned from others cannot grow without limit. */
export const MAX_KEYS = 16;

/**
 * Keys learned from others (CA mode) are bounded; when the ring is full, a new one replaces the
 * learned key used least recently, so keys an insider invents and never uses cannot push out the
 * keys traffic arrives under. Configured keys and the send key are never replaced.
 */
export class Keyring {
  #keys = new Map<string, ClusterKey>();
  #send: ClusterKey | undefined;
  /** Configured (key file, flags): kept whatever happens. */
  #pinned = new Set<string>();
  /** Use counter per key id, for least-recently-used replacement. */
  readonly #used = new Map<string, number>();
  #uses = 0;

  /** The first key sends; all are accepted. */
  constructor(keys: readonly ClusterKey[] = []) {
    this.replace(keys);
  }

  get sendKey(): ClusterKey | undefined {
    return this.#send;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** The key with this id (a lookup is a use: it keeps a learned key from being replaced). */
  get(kid: string): ClusterKey | undefined {
    const k = this.#keys.get(kid);
    if (k) this.#used.set(kid, ++this.#uses);
    return k;
  }

  all(): ClusterKey[] {
    return [...this.#keys.values()];
  }

  /** Swap in a new configured set (rotation by reloading the key file). */
  replace(keys: readonly ClusterKey[]): void {
    const kept = keys.slice(0, MAX_KEYS);
    this.#keys = new Map(kept.map((k) => [k.kid, k]));
    this.#pinned = new Set(kept.map((k) => k.kid));
    this.#used.clear();
    this.#send = keys[0];
  }

  /** Accept more keys (learned in CA mode); the send key stays, or becomes the first if none. */
  add(keys: readonly ClusterKey[]): number {
    let added = 0;
    for (const k of keys) {
      if (this.#keys.has(k.kid)) continue;
      if (this.#keys.size >= MAX_KEYS && !this.#evictOne()) continue;
      // Not a use yet: keys nobody sends under go first, the oldest of them first.
      this.#keys.set(k.kid, k);
      added++;
    }
    this.#send ??= keys.find((k) => this.#keys.has(k.kid));
    return added;
  }

  /** Stop accepting this key (a retired rotation key); never the send key. */
  remove(kid: string): void {
    if (kid === this.#send?.kid) return;
    this.#keys.delete(kid);
    this.#pinned.delete(kid);
    this.#used.delete(kid);
  }

  /** Use this key to send from now on (it is accepted too). */
  setSend(k: ClusterKey): void {
    if (!this.#keys.has(k.kid)) this.add([k]);
    if (this.#keys.has(k.kid)) this.#send = this.#keys.get(k.kid);
  }

  /** Drop the learned key used least recently (never used: oldest first); false when every key is pinned or sends. */
  #evictOne(): boolean {
    let victim: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const kid of this.#keys.keys()) {
      if (this.#pinned.has(kid) || kid === this.#send?.kid) continue;
      const u = this.#used.get(kid) ?? 0;
      if (u < oldest) (oldest = u), (victim = kid);
    }
    if (victim === undefined) return false;
    this.#keys.delete(victim);
    this.#used.delete(victim);
    return true;
  }
}
