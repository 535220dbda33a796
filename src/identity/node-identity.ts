import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A node's long-lived ECC identity. The node id is a fingerprint of its public key. */
export interface NodeIdentity {
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SPKI DER of the public key, as it travels in handshakes. */
  readonly publicKeyDer: Buffer;
}

export const KEY_FILE = "node.key";

/** Node id: the first 8 bytes of SHA-256 over the SPKI public key, in hex. */
export function fingerprint(publicKeyDer: Uint8Array): string {
  return createHash("sha256").update(publicKeyDer).digest("hex").slice(0, 16);
}

export function identityFromPrivateKey(privateKey: KeyObject): NodeIdentity {
  const publicKey = createPublicKey(privateKey);
  const publicKeyDer = publicKey.export({ type: "spki", format: "der" });
  return { id: fingerprint(publicKeyDer), privateKey, publicKey, publicKeyDer };
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
