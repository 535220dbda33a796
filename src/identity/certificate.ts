import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import * as v from "valibot";
import { base64, hex } from "../wire/fields.ts";
import { fingerprintRaw, identityFromPrivateKey, RAW_PUBLIC_KEY_BYTES, signWith, verifyRaw } from "./node-identity.ts";

/**
 * A node certificate: the cluster authority's Ed25519 signature over the node's public key,
 * its name and an expiry. Small JSON, so an operator can read what it says.
 */
const b64 = base64(200);
export const certificateSchema = v.strictObject({
  v: v.literal(1),
  /** Fingerprint of the CA public key (which authority signed it). */
  ca: hex(16),
  /** Raw Ed25519 public key of the node, base64. */
  key: b64,
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  /** Unix seconds after which the certificate is no longer valid. */
  expires: v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER)),
  /** Optional: the host (IP or DNS name) the node must advertise for gossip and HTTP. */
  addr: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(253))),
  sig: b64,
});
export type Certificate = v.InferOutput<typeof certificateSchema>;

const enc = new TextEncoder();
/** What the CA signs. Certificates without an address keep the original five fields. */
export const certificateStatement = (c: Omit<Certificate, "sig" | "v">): Uint8Array =>
  enc.encode(
    JSON.stringify(c.addr === undefined ? ["dsef/v1 cert", c.ca, c.key, c.name, c.expires] : ["dsef/v1 cert", c.ca, c.key, c.name, c.expires, c.addr]),
  );

export interface CertificateAuthority {
  readonly privateKey: KeyObject;
  readonly publicKeyRaw: Buffer;
  readonly id: string;
}

export function newAuthority(): { authority: CertificateAuthority; privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    authority: authorityFromPrivateKey(privateKey),
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

export function authorityFromPrivateKey(privateKey: KeyObject | string): CertificateAuthority {
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  const id = identityFromPrivateKey(key);
  return { privateKey: key, publicKeyRaw: id.publicKeyRaw, id: id.id };
}

/** Raw CA public key from its PEM file contents. Throws a one-line message. */
export function caPublicKeyFromPem(pem: string): Buffer {
  let der: Buffer;
  try {
    der = createPublicKey(pem).export({ type: "spki", format: "der" });
  } catch {
    throw new Error("not a PEM public key");
  }
  if (der.byteLength !== 12 + RAW_PUBLIC_KEY_BYTES) throw new Error("the CA key is not an Ed25519 key");
  return Buffer.from(der.subarray(12));
}

export function issueCertificate(ca: CertificateAuthority, nodeKeyRaw: Uint8Array, name: string, expires: number, addr?: string): Certificate {
  const body = { ca: ca.id, key: Buffer.from(nodeKeyRaw).toString("base64"), name, expires: Math.floor(expires), ...(addr === undefined ? {} : { addr }) };
  return { v: 1, ...body, sig: signWith(ca.privateKey, certificateStatement(body)).toString("base64") };
}

export type CertificateCheck = { ok: true; name: string } | { ok: false; reason: string };

/** Is `raw` a certificate by this CA, for this node key, still valid at `nowS`? */
export function checkCertificate(raw: unknown, caKeyRaw: Uint8Array, nodeKeyRaw: Uint8Array, nowS: number): CertificateCheck {
  const parsed = v.safeParse(certificateSchema, raw);
  if (!parsed.success) return { ok: false, reason: "malformed certificate" };
  const c = parsed.output;
  if (c.ca !== fingerprintRaw(caKeyRaw)) return { ok: false, reason: `certificate issued by another authority (${c.ca})` };
  if (!verifyRaw(caKeyRaw, certificateStatement(c), Buffer.from(c.sig, "base64"))) return { ok: false, reason: "certificate signature is not valid" };
  if (!Buffer.from(c.key, "base64").equals(Buffer.from(nodeKeyRaw))) return { ok: false, reason: "certificate is for another node key" };
  if (c.expires <= nowS) return { ok: false, reason: `certificate expired at ${new Date(c.expires * 1000).toISOString()}` };
  return { ok: true, name: c.name };
}
