import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A node's long-lived ECC identity. The node id is a fingerprint of its public key. */
export interface NodeIdentity {
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SPKI DER of the public key, as it travels in handshakes. */
  readonly publicKeyDer: Buffer;
  /** The raw 32-byte Ed25519 public key, as it travels in proofs and certificates. */
  readonly publicKeyRaw: Buffer;
}

/** SPKI DER of an Ed25519 key is this fixed prefix followed by the raw 32-byte key. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
export const RAW_PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export const KEY_FILE = "node.key";

/** Node id: the first 8 bytes of SHA-256 over the SPKI public key, in hex. */
export function fingerprint(publicKeyDer: Uint8Array): string {
  return createHash("sha256").update(publicKeyDer).digest("hex").slice(0, 16);
}

export function identityFromPrivateKey(privateKey: KeyObject): NodeIdentity {
  const publicKey = createPublicKey(privateKey);
  const publicKeyDer = publicKey.export({ type: "spki", format: "der" });
  if (publicKeyDer.byteLength !== ED25519_SPKI_PREFIX.byteLength + RAW_PUBLIC_KEY_BYTES || !publicKeyDer.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) {
    throw new Error("the node key is not an Ed25519 key");
  }
  return { id: fingerprint(publicKeyDer), privateKey, publicKey, publicKeyDer, publicKeyRaw: Buffer.from(publicKeyDer.subarray(12)) };
}

/** Node id of a raw Ed25519 public key (same as `fingerprint` over its SPKI form). */
export function fingerprintRaw(raw: Uint8Array): string {
  return fingerprint(Buffer.concat([ED25519_SPKI_PREFIX, raw]));
}

const keyCache = new Map<string, KeyObject>();

/** A public key object from its raw bytes; cached, since members verify the same keys often. */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== RAW_PUBLIC_KEY_BYTES) throw new Error("not a raw Ed25519 public key");
  const k = Buffer.from(raw).toString("hex");
  let key = keyCache.get(k);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
    if (keyCache.size >= 4096) keyCache.clear();
    keyCache.set(k, key);
  }
  return key;
}

export function signWith(privateKey: KeyObject, data: Uint8Array): Buffer {
  return sign(null, data, privateKey);
}

/** Never throws: a malformed key or signature is simply "not valid". */
export function verifyRaw(raw: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  if (raw.byteLength !== RAW_PUBLIC_KEY_BYTES || signature.byteLength !== SIGNATURE_BYTES) return false;
  try {
    return verify(null, data, publicKeyFromRaw(raw), signature);
  } catch {
    return false;
  }
}

/** A fresh Ed25519 identity, kept only in memory (tests, simulator). */
export function generateIdentity(): NodeIdentity {
  return identityFromPrivateKey(generateKeyPairSync("ed25519").privateKey);
}

/**
 * Load the identity from `dataDir`, creating it on first start. The key file is written with
 * mode 0600 in a 0700 directory, and refused if others can read it.
 */
export function loadOrCreateIdentity(dataDir: string): { identity: NodeIdentity; created: boolean } {
  const path = join(dataDir, KEY_FILE);
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) throw new Error(`${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
    return { identity: identityFromPrivateKey(createPrivateKey(readFileSync(path))), created: false };
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync("ed25519");
  writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return { identity: identityFromPrivateKey(privateKey), created: true };
}
