import {
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import * as v from "valibot";
import { base64 as b64, hex } from "../wire/fields.ts";
import { PROTOCOL } from "../wire/protocol.ts";
import { memberTableSchema, protocolSchema } from "../wire/sync-schema.ts";
import { type Certificate, certificateSchema, checkCertificate } from "./certificate.ts";
import type { ClusterKey, Keyring } from "./keyring.ts";
import { fingerprintRaw, type NodeIdentity, signWith, verifyRaw } from "./node-identity.ts";

/**
 * The join handshake, a mutual challenge-response in two HTTP round trips:
 *
 *   joiner → seed  POST /join/hello   {key, nonce_j, eph_j, cert?}
 *   seed → joiner                     {session, key, nonce_s, eph_s, cert?, sig_s, kid?, mac_s?}
 *   joiner → seed  POST /join/finish  {session, sig_j, kid?, mac_j?, members, keys?}
 *   seed → joiner                     {members, keys?}
 *
 * Both sides sign the transcript T (both identity keys, both fresh nonces, both ephemeral
 * X25519 keys) with their identity key, and prove their credential: an HMAC over T with the
 * cluster's join key (shared secret), and/or a certificate by the cluster CA for their key.
 * Fresh nonces on both sides make every transcript new, so nothing recorded can be replayed.
 * In CA mode without a secret the seed hands its cluster keys to the joiner (and takes the
 * joiner's, if any), encrypted under an ECDH secret of the ephemeral keys, which only the two
 * signers of T can know. In shared-secret mode the seed hands its keys, its send key first, to a
 * joiner that proved a key it accepts, wrapped the same way: a node that was down while the
 * cluster rotated (`dsef keys`) rejoins with its old key and leaves with the current ones.
 */
/** Exactly 32 bytes in base64 (keys and nonces). */
const key32 = v.pipe(v.string(), v.regex(/^[A-Za-z0-9+/]{43}=$/));

/** `kid`: the cluster key the joiner will prove (shared-secret mode), so an unknown one is refused at once. */
export const helloSchema = v.object({
  v: v.literal(1),
  protocol: v.optional(protocolSchema),
  key: key32,
  nonce: key32,
  eph: key32,
  cert: v.optional(certificateSchema),
  kid: v.optional(hex(8)),
});
export const helloReplySchema = v.object({
  session: hex(32),
  protocol: v.optional(protocolSchema),
  key: key32,
  nonce: key32,
  eph: key32,
  cert: v.optional(certificateSchema),
  sig: b64(100),
  kid: v.optional(hex(8)),
  mac: v.optional(b64(60)),
});
export const finishSchema = v.object({
  session: hex(32),
  sig: b64(100),
  kid: v.optional(hex(8)),
  mac: v.optional(b64(60)),
  members: memberTableSchema,
  keys: v.optional(b64(2000)),
});
export const finishReplySchema = v.object({ members: memberTableSchema, keys: v.optional(b64(2000)) });
export type Hello = v.InferOutput<typeof helloSchema>;
export type HelloReply = v.InferOutput<typeof helloReplySchema>;
export type Finish = v.InferOutput<typeof finishSchema>;
/** What a joiner sends: the member table still as JSON entries. */
export type FinishBody = v.InferInput<typeof finishSchema>;

/** What this node requires of others and presents itself. */
export interface Credentials {
  readonly keyring: Keyring;
  /** Shared-secret mode: the peer must prove it holds an accepted cluster key. */
  readonly secret: boolean;
  /** CA mode: the peer must present a valid certificate by this authority. */
  readonly caKey?: Buffer;
  /** Our own certificate, shown to peers (CA mode). */
  readonly cert?: Certificate;
  /** CA mode without a secret: cluster keys are handed over in the handshake. */
  readonly shareKeys: boolean;
  /**
   * Shared-secret mode: keys a seed handed over at our join, its send key first (the cluster
   * rotated while this node was away; key-store.ts).
   */
  readonly learnKeys?: (keys: ClusterKey[]) => void;
}

export type Role = "seed" | "joiner";

export function transcript(hello: Hello, reply: Pick<HelloReply, "key" | "nonce" | "eph">): Buffer {
  return createHash("sha256")
    .update(JSON.stringify(["dsef/v1 join", hello.key, hello.nonce, hello.eph, reply.key, reply.nonce, reply.eph]))
    .digest();
}

const roleBytes = (role: Role, t: Buffer) => Buffer.concat([Buffer.from(`dsef/v1 join ${role}\n`), t]);
const b = (s: string) => Buffer.from(s, "base64");

export function signTranscript(identity: NodeIdentity, role: Role, t: Buffer): string {
  return signWith(identity.privateKey, roleBytes(role, t)).toString("base64");
}

export function macTranscript(key: ClusterKey, role: Role, t: Buffer): string {
  return createHmac("sha256", key.join).update(roleBytes(role, t)).digest("base64");
}

/** A refusal with the HTTP status that reports it. */
export class Refusal extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 409 | 503,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * Check the other side's proof of identity and credential over T; throws a Refusal.
 * `key` is the raw identity key the peer announced (its id is the fingerprint).
 */
export function checkPeer(
  creds: Credentials,
  role: Role,
  t: Buffer,
  key: Buffer,
  sig: string,
  cert: unknown,
  kid: string | undefined,
  mac: string | undefined,
  nowS: number,
): void {
  if (!verifyRaw(key, roleBytes(role, t), b(sig))) throw new Refusal(401, `the ${role}'s signature over the challenge is not valid`);
  checkCert(creds, key, cert, nowS);
  if (creds.secret) {
    if (!kid || !mac) throw new Refusal(401, "proof of the cluster key is required");
    const k = creds.keyring.get(kid);
    if (!k) throw new Refusal(403, "cluster key not accepted (wrong or retired secret)");
    const want = Buffer.from(macTranscript(k, role, t), "base64");
    const got = b(mac);
    if (got.byteLength !== want.byteLength || !timingSafeEqual(got, want)) throw new Refusal(403, "cluster key proof is not valid (wrong secret)");
  }
}

/** Header of /join/finish: `<session>.<proof b64url>`, checked before the body is read. */
export const JOIN_HEADER = "x-dsef-join";

/** The joiner's cheapest full proof over T: the cluster-key MAC (under `kid`, the key named at hello) in secret mode, else its signature. */
export function earlyProof(identity: NodeIdentity, creds: Credentials, t: Buffer, kid?: string): string {
  const k = creds.secret ? ((kid !== undefined ? creds.keyring.get(kid) : undefined) ?? creds.keyring.sendKey) : undefined;
  const raw = k ? Buffer.from(macTranscript(k, "joiner", t), "base64") : Buffer.from(signTranscript(identity, "joiner", t), "base64");
  return raw.toString("base64url");
}

/** The seed's side of `earlyProof`; `kid` is the key the joiner announced at hello. Never throws. */
export function checkEarlyProof(creds: Credentials, t: Buffer, joinerKey: Buffer, kid: string | undefined, proof: Buffer): boolean {
  if (creds.secret) {
    const k = kid ? creds.keyring.get(kid) : undefined;
    if (!k) return false;
    const want = Buffer.from(macTranscript(k, "joiner", t), "base64");
    return proof.byteLength === want.byteLength && timingSafeEqual(proof, want);
  }
  return verifyRaw(joinerKey, roleBytes("joiner", t), proof);
}

/** Secret mode: does the peer announce a cluster key we accept? Throws a Refusal. */
export function checkKid(creds: Credentials, kid: string | undefined): void {
  if (!creds.secret) return;
  if (!kid) throw new Refusal(401, "proof of the cluster key is required");
  if (!creds.keyring.get(kid)) throw new Refusal(403, "cluster key not accepted (wrong or retired secret)");
}

/** CA mode: is `cert` a valid certificate for `key`? Throws a Refusal. */
export function checkCert(creds: Credentials, key: Buffer, cert: unknown, nowS: number): void {
  if (!creds.caKey) return;
  if (cert === undefined) throw new Refusal(401, "a certificate from the cluster authority is required");
  const c = checkCertificate(cert, creds.caKey, key, nowS);
  if (!c.ok) throw new Refusal(403, c.reason);
}

/**
 * Our half of the credential for T: under `kid` when we hold it (a seed proves the key its joiner
 * named, so a joiner that missed a rotation can still check it), else under our send key.
 */
export function credentialFields(creds: Credentials, role: Role, t: Buffer, kid?: string): { kid?: string; mac?: string } {
  if (!creds.secret) return {};
  const k = (kid !== undefined ? creds.keyring.get(kid) : undefined) ?? creds.keyring.sendKey;
  if (!k) return {};
  return { kid: k.kid, mac: macTranscript(k, role, t) };
}

export interface Ephemeral {
  readonly privateKey: KeyObject;
  readonly raw: string;
}

export function ephemeral(): Ephemeral {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const x = (publicKey.export({ format: "jwk" }) as { x: string }).x;
  return { privateKey, raw: Buffer.from(x, "base64url").toString("base64") };
}

/** Key that wraps cluster keys travelling in `direction`; undefined for a malformed peer key. */
export function wrapKey(own: Ephemeral, peerRaw: string, t: Buffer, direction: "to-joiner" | "to-seed"): Buffer | undefined {
  try {
    const pub = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: b(peerRaw).toString("base64url") }, format: "jwk" });
    const shared = diffieHellman({ privateKey: own.privateKey, publicKey: pub });
    return Buffer.from(hkdfSync("sha256", shared, t, `dsef/v1 join wrap ${direction}`, 32));
  } catch {
    return undefined;
  }
}

/** A hello naming `kid` (default: our send key) as the cluster key we will prove. */
export function newHello(identity: NodeIdentity, eph: Ephemeral, creds: Credentials, kid = creds.keyring.sendKey?.kid): Hello {
  const h: Hello = { v: 1, protocol: PROTOCOL, key: identity.publicKeyRaw.toString("base64"), nonce: randomBytes(32).toString("base64"), eph: eph.raw };
  if (creds.cert) h.cert = creds.cert;
  if (creds.secret && kid) h.kid = kid;
  return h;
}

export const idOfKey = (raw: string): string => fingerprintRaw(b(raw));
