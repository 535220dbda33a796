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

export class Keyring {
  #keys = new Map<string, ClusterKey>();
  #send: ClusterKey | undefined;

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

  get(kid: string): ClusterKey | undefined {
    return this.#keys.get(kid);
  }

  all(): ClusterKey[] {
    return [...this.#keys.values()];
  }

  /** Swap in a new configured set (rotation by reloading the key file). */
  replace(keys: readonly ClusterKey[]): void {
    this.#keys = new Map(keys.slice(0, MAX_KEYS).map((k) => [k.kid, k]));
    this.#send = keys[0];
  }

  /** Accept more keys (learned in CA mode); the send key stays, or becomes the first if none. */
  add(keys: readonly ClusterKey[]): number {
    let added = 0;
    for (const k of keys) {
      if (this.#keys.has(k.kid) || this.#keys.size >= MAX_KEYS) continue;
      this.#keys.set(k.kid, k);
      added++;
    }
    this.#send ??= keys.find((k) => this.#keys.has(k.kid));
    return added;
  }

  /** Use this key to send from now on (it is accepted too). */
  setSend(k: ClusterKey): void {
    if (!this.#keys.has(k.kid)) this.add([k]);
    if (this.#keys.has(k.kid)) this.#send = this.#keys.get(k.kid);
  }
}
