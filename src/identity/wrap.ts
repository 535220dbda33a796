import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { MAX_KEYS } from "./keyring.ts";

/** AES-256-GCM sealing of cluster key material for hand-over (CA mode). Never throws on open. */
export function wrapKeys(key: Uint8Array, materials: readonly Uint8Array[], aad: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", key, iv);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(Buffer.concat(materials.slice(0, MAX_KEYS))), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]).toString("base64");
}

export function unwrapKeys(key: Uint8Array, wrapped: string, aad: string): Buffer[] | undefined {
  const d = Buffer.from(wrapped, "base64");
  if (d.byteLength < 28 + 32 || (d.byteLength - 28) % 32 !== 0 || d.byteLength - 28 > 32 * MAX_KEYS) return undefined;
  try {
    const c = createDecipheriv("aes-256-gcm", key, d.subarray(0, 12));
    c.setAAD(Buffer.from(aad));
    c.setAuthTag(d.subarray(d.byteLength - 16));
    const plain = Buffer.concat([c.update(d.subarray(12, d.byteLength - 16)), c.final()]);
    const out: Buffer[] = [];
    for (let i = 0; i < plain.byteLength; i += 32) out.push(plain.subarray(i, i + 32));
    return out;
  } catch {
    return undefined;
  }
}
