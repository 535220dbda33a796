/**
 * Just enough X.509 to run TLS between nodes without another tool: a self-signed CA certificate
 * and node certificates signed by it (ECDSA P-256 with SHA-256, which every TLS stack and
 * browser accepts), each with the node's IP addresses and DNS names as subjectAltName. DER is
 * written by hand (node:crypto signs and parses but does not build certificates); node:crypto's
 * X509Certificate reads the result back in the tests.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { isIP, isIPv4 } from "node:net";

// ---- DER ----
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.byteLength), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const explicit = (n: number, ...c: Buffer[]) => tlv(0xa0 + n, ...c);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));

/** A non-negative INTEGER from big-endian bytes (a leading 0 keeps it positive). */
function uint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.byteLength - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, (v[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const n of rest) {
    const parts = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) parts.unshift(0x80 | (v & 0x7f));
    out.push(...parts);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14); // YYYYMMDDHHMMSS
  // UTCTime up to 2049, GeneralizedTime after (RFC 5280 4.1.2.5).
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const name = (cn: string) => seq(set(seq(oid("2.5.4.3"), utf8(cn))));
const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));
const ext = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
  // IPv6: expand "::" and write 8 groups of 16 bits.
  const [head = "", tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = ip.includes("::") ? (tail ? tail.split(":") : []) : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

const spkiOf = (k: KeyObject) => k.export({ type: "spki", format: "der" });
/** RFC 5280 key identifier: SHA-1 over the public key bits (the DER's last 65 bytes for P-256). */
const keyId = (k: KeyObject) => createHash("sha1").update(spkiOf(k).subarray(-65)).digest();

export interface TlsCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

function build(
  subject: string,
  issuer: string,
  subjectKey: KeyObject,
  issuerKey: { privateKey: KeyObject; publicKey: KeyObject },
  days: number,
  extensions: Buffer[],
): string {
  const now = Date.now();
  const tbs = seq(
    explicit(0, uint(Buffer.from([2]))),
    uint(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    ECDSA_SHA256,
    name(issuer),
    seq(time(new Date(now - 5 * 60_000)), time(new Date(now + days * 86_400_000))),
    name(subject),
    spkiOf(subjectKey),
    explicit(3, seq(...extensions, ext("2.5.29.14", false, octets(keyId(subjectKey))), ext("2.5.29.35", false, seq(tlv(0x80, keyId(issuerKey.publicKey)))))),
  );
  const signature = sign("sha256", tbs, issuerKey.privateKey);
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  return `-----BEGIN CERTIFICATE-----\n${der
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd()}\n-----END CERTIFICATE-----\n`;
}

const p256 = () => generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (k: KeyObject) => k.export({ type: "pkcs8", format: "pem" }).toString();

/** A self-signed TLS certificate authority (give its certificate to nodes as --tls-ca). */
export function newTlsAuthority(cn: string, days = 3650): TlsCertificate {
  const k = p256();
  const certPem = build(cn, cn, k.publicKey, k, days, [ext("2.5.29.19", true, seq(bool(true))), ext("2.5.29.15", true, bits(Buffer.from([0x06]), 1))]);
  return { certPem, keyPem: pem(k.privateKey) };
}

/** A node's TLS certificate for its addresses (IPs and DNS names), signed by the authority. */
export function issueTlsCertificate(
  authority: { certPem: string; privateKey: KeyObject; publicKey: KeyObject; cn: string },
  cn: string,
  names: readonly string[],
  days = 365,
): TlsCertificate {
  if (names.length === 0) throw new Error("a TLS certificate needs at least one address (--ip or --dns)");
  const k = p256();
  const san = seq(...names.map((n) => (isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, "ascii")))));
  const certPem = build(cn, authority.cn, k.publicKey, authority, days, [
    ext("2.5.29.19", true, seq()),
    ext("2.5.29.15", true, bits(Buffer.from([0x80]), 7)),
    ext("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2"))),
    ext("2.5.29.17", false, san),
  ]);
  return { certPem, keyPem: pem(k.privateKey) };
}
