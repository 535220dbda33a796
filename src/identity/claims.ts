import { sortedTags } from "../membership/tags.ts";
import type { LoadFigures, Member, MemberSnapshot, Message, NodeId, NodeInfo, Nonce, Proof, Update } from "../membership/types.ts";
import type { AdmitContext, ClaimHooks } from "../ports/claims.ts";
import { AdmissionGate, type AdmissionLimits, DEFAULT_ADMISSION_LIMITS } from "./admission-limits.ts";
import type { Certificate } from "./certificate.ts";
import { authorityId, CERT_TAIL_BYTES, CertificateExpiries, type ClaimAuthority, certTail, checkCertTail, tailExpires } from "./certified-claims.ts";
import { checkLiveness, proveLiveness } from "./liveness.ts";
import { fingerprintRaw, type NodeIdentity, RAW_PUBLIC_KEY_BYTES, SIGNATURE_BYTES, signWith, verifyRaw } from "./node-identity.ts";

/**
 * Self-claims: only a node may say it is alive (with its address, name, capacity) or publish
 * its load. Each such claim carries the subject's Ed25519 signature in the `proof` field.
 *
 * - alive proof = raw public key (32) ‖ signature (64): the receiver checks that the key's
 *   fingerprint is the claimed id, so no key has to be known in advance;
 * - load proof  = signature (64), checked with the key learned from the member's alive proof;
 * - left proof  = signature (64), likewise: a leave is the member's own word (it raises its
 *   incarnation by one and takes it out of every table).
 */
export const ALIVE_PROOF_BYTES = RAW_PUBLIC_KEY_BYTES + SIGNATURE_BYTES;

const enc = new TextEncoder();
/** Everything a node says about itself is signed: its tags and protocol range too (nobody can relabel or downgrade it). */
const aliveText = (incarnation: number, info: NodeInfo) =>
  JSON.stringify([
    "dsef/v1 alive",
    info.id,
    incarnation,
    info.name,
    info.gossip,
    info.http,
    info.capacity,
    sortedTags(info.tags),
    info.protocol ? [info.protocol.min, info.protocol.max] : null,
  ]);
const loadText = (id: NodeId, load: LoadFigures) => JSON.stringify(["dsef/v1 load", id, load.version, load.backlog]);
const leftText = (id: NodeId, incarnation: number) => JSON.stringify(["dsef/v1 left", id, incarnation]);
export function aliveStatement(incarnation: number, info: NodeInfo): Uint8Array {
  return enc.encode(aliveText(incarnation, info));
}
export function loadStatement(id: NodeId, load: LoadFigures): Uint8Array {
  return enc.encode(loadText(id, load));
}

export function leftStatement(id: NodeId, incarnation: number): Uint8Array {
  return enc.encode(leftText(id, incarnation));
}

export function signLeft(identity: NodeIdentity, incarnation: number): Uint8Array {
  return new Uint8Array(signWith(identity.privateKey, leftStatement(identity.id, incarnation)));
}

export function signAlive(identity: NodeIdentity, incarnation: number, info: NodeInfo): Uint8Array {
  return new Uint8Array(Buffer.concat([identity.publicKeyRaw, signWith(identity.privateKey, aliveStatement(incarnation, info))]));
}
/** CA mode: alive proofs with our certificate attached (see certified-claims.ts). */
export function caClaimSigner(identity: NodeIdentity, cert: Certificate): (incarnation: number, info: NodeInfo) => Uint8Array {
  const tail = certTail(cert);
  return (incarnation, info) => new Uint8Array(Buffer.concat([signAlive(identity, incarnation, info), tail]));
}
export function signLoad(identity: NodeIdentity, load: LoadFigures): Uint8Array {
  return new Uint8Array(signWith(identity.privateKey, loadStatement(identity.id, load)));
}

export type ClaimRejection =
  | "unsigned"
  | "wrongKey"
  | "badSignature"
  | "unknownKey"
  | "identityConflict"
  | "uncertified"
  | "expired"
  | "rateLimited"
  | "memberLimit";

/**
 * Verify an alive proof; returns the subject's raw key, or why it fails. In CA mode the proof
 * goes on with a certificate (`tailBytes` of it), checked separately.
 */
export function checkAlive(incarnation: number, info: NodeInfo, proof: Uint8Array | undefined, tailBytes = 0): Uint8Array | ClaimRejection {
  if (!proof || proof.byteLength < ALIVE_PROOF_BYTES) return "unsigned";
  if (proof.byteLength !== ALIVE_PROOF_BYTES + tailBytes) return tailBytes > 0 ? "uncertified" : "unsigned";
  const key = proof.subarray(0, RAW_PUBLIC_KEY_BYTES);
  if (fingerprintRaw(key) !== info.id) return "wrongKey";
  return verifyRaw(key, aliveStatement(incarnation, info), proof.subarray(RAW_PUBLIC_KEY_BYTES, ALIVE_PROOF_BYTES)) ? key : "badSignature";
}

export interface ClaimGuardOptions {
  /** CA mode: every alive claim must carry a valid certificate by this authority. */
  readonly authority?: ClaimAuthority;
  /** Bounds on new identities (default DEFAULT_ADMISSION_LIMITS). */
  readonly limits?: AdmissionLimits;
  /** Live members in the table (for the member limit). */
  readonly liveCount?: () => number;
}

export interface ClaimStats {
  verified: number;
  rejected: Record<ClaimRejection, number>;
}

/**
 * Signs and verifies self-claims at the node's edge. Also refuses an identity seen at two
 * places at once: a second process with a copy of a member's key (a copied data dir) makes
 * valid claims, but from another address than the live holder.
 */
export class ClaimGuard implements ClaimHooks {
  readonly stats: ClaimStats = {
    verified: 0,
    rejected: { unsigned: 0, wrongKey: 0, badSignature: 0, unknownKey: 0, identityConflict: 0, uncertified: 0, expired: 0, rateLimited: 0, memberLimit: 0 },
  };
  /** Raw public keys learned from verified alive claims, for checking load claims. */
  readonly #keys = new Map<NodeId, Uint8Array>();
  #aliveCache: { incarnation: number; info: NodeInfo; proof: Uint8Array } | undefined;
  #loadCache: { load: LoadFigures; proof: Uint8Array } | undefined;
  readonly #warned = new Map<string, number>();
  /**
   * The last claim verified per member (statement + proof). The same claim comes back many
   * times (gossip retransmits, every periodic sync carries the whole table), and checking
   * that it is byte-identical is far cheaper than verifying a signature again.
   */
  readonly #verifiedAlive = new Map<NodeId, string>();
  readonly #verifiedLoad = new Map<NodeId, string>();
  readonly #authority: ClaimAuthority | undefined;
  readonly #caId: string;
  readonly #tailBytes: number;
  readonly #signAlive: (incarnation: number, info: NodeInfo) => Uint8Array;
  /** CA mode: when each listed member's certificate runs out. */
  readonly #expiries = new CertificateExpiries();
  #ownExpiryLogged = false;
  readonly #gate: AdmissionGate;
  /** Context of the full state being admitted (none for datagrams). */
  #ctx: AdmitContext | undefined;

  constructor(
    private readonly identity: NodeIdentity,
    private readonly lookup: (id: NodeId) => Readonly<Member> | undefined,
    private readonly warn: (fields: Record<string, unknown>, msg: string) => void,
    private readonly now: () => number = Date.now,
    options: ClaimGuardOptions = {},
  ) {
    this.#keys.set(identity.id, identity.publicKeyRaw);
    const a = options.authority;
    this.#authority = a;
    this.#caId = a ? authorityId(a) : "";
    this.#tailBytes = a ? CERT_TAIL_BYTES : 0;
    const cert = a?.cert;
    this.#signAlive = cert ? caClaimSigner(identity, cert) : (incarnation, info) => signAlive(identity, incarnation, info);
    this.#gate = new AdmissionGate(options.limits ?? DEFAULT_ADMISSION_LIMITS, options.liveCount ?? (() => 0), now, warn);
  }

  /** The member's public key: learned from its verified alive claim, or read from the one its row holds. */
  keyOf(id: NodeId): Uint8Array | undefined {
    const known = this.#keys.get(id);
    if (known) return known;
    const proof = this.lookup(id)?.proof;
    return proof && proof.byteLength >= ALIVE_PROOF_BYTES ? proof.subarray(0, RAW_PUBLIC_KEY_BYTES) : undefined;
  }

  #reject(r: ClaimRejection): false {
    this.stats.rejected[r]++;
    return false;
  }

  #aliveOk(incarnation: number, info: NodeInfo, proof: Uint8Array | undefined): boolean {
    // A new identity is charged before its signature is checked: a flood costs no verifications.
    if (info.id !== this.identity.id && !this.lookup(info.id)) {
      const v = this.#gate.admit(info.id, this.#ctx);
      if (v !== "ok") return this.#reject(v);
    }
    const memo = proof ? `${aliveText(incarnation, info)}|${Buffer.from(proof).toString("base64")}` : "";
    const seen = memo !== "" && this.#verifiedAlive.get(info.id) === memo;
    const key = seen ? proof!.subarray(0, RAW_PUBLIC_KEY_BYTES) : checkAlive(incarnation, info, proof, this.#tailBytes);
    if (typeof key === "string") return this.#reject(key);
    const expires = this.#authority ? this.#certified(seen, key, info, proof!) : undefined;
    if (typeof expires === "string") return this.#reject(expires);
    const cur = this.lookup(info.id);
    if (info.id === this.identity.id) {
      if (info.gossip !== cur?.info.gossip) {
        this.#conflict(info, "another process is using THIS node's identity key (copied data dir?); its claims are refused");
        return this.#reject("identityConflict");
      }
    } else {
      if (cur && (cur.state === "alive" || cur.state === "suspect") && cur.info.gossip !== info.gossip) {
        this.#conflict(info, "two live processes claim one node id (copied data dir?); refusing the newcomer until the known one is gone");
        return this.#reject("identityConflict");
      }
    }
    // A claim for an address another member holds is the core's to settle: it asks the address
    // who is there (membership/address-check.ts).
    if (this.#keys.size > 100_000) this.#forgetStrangers();
    this.#keys.set(info.id, key);
    this.#verifiedAlive.set(info.id, memo);
    if (expires !== undefined && info.id !== this.identity.id) this.#expiries.set(info.id, expires);
    this.stats.verified++;
    return true;
  }

  /** CA mode: the certificate that travels with the claim; a claim seen before needs only its expiry checked. */
  #certified(seen: boolean, key: Uint8Array, info: NodeInfo, proof: Uint8Array): number | "uncertified" | "expired" {
    const tail = proof.subarray(ALIVE_PROOF_BYTES);
    const nowS = this.now() / 1000;
    if (seen) {
      const expires = tailExpires(tail);
      return expires <= nowS ? "expired" : expires;
    }
    const c = checkCertTail(tail, this.#authority!.key, this.#caId, key, info, nowS);
    return c.ok ? c.expires : c.reason;
  }

  /** Caches of members no longer listed go; what listed members need stays. */
  #forgetStrangers(): void {
    for (const id of this.#keys.keys()) {
      if (id === this.identity.id || this.lookup(id)) continue;
      this.#keys.delete(id);
      this.#verifiedAlive.delete(id);
      this.#verifiedLoad.delete(id);
    }
  }

  /**
   * CA mode: listed members whose certificate has run out since the last call. The driver
   * removes them; claims that still carry the old certificate are refused from now on.
   */
  expired(): NodeId[] {
    if (!this.#authority) return [];
    const nowS = this.now() / 1000;
    const cert = this.#authority.cert;
    if (cert && cert.expires <= nowS && !this.#ownExpiryLogged) {
      this.#ownExpiryLogged = true;
      this.warn(
        { expired: new Date(cert.expires * 1000).toISOString() },
        "this node's certificate expired: the cluster removes it; renew it (dsef ca issue) and restart",
      );
    }
    const out: NodeId[] = [];
    for (const id of this.#expiries.due(nowS)) {
      const m = this.lookup(id);
      if (!m || (m.state !== "alive" && m.state !== "suspect")) continue;
      this.warn({ member: id, name: m.info.name, addr: m.info.http }, "member certificate expired: removed");
      out.push(id);
    }
    return out;
  }

  #loadOk(id: NodeId, load: LoadFigures, proof: Uint8Array | undefined): boolean {
    if (!proof) return this.#reject("unsigned");
    const key = this.#keys.get(id);
    if (!key) return this.#reject("unknownKey");
    const memo = `${loadText(id, load)}|${Buffer.from(proof).toString("base64")}`;
    if (this.#verifiedLoad.get(id) !== memo) {
      if (!verifyRaw(key, loadStatement(id, load), proof)) return this.#reject("badSignature");
      this.#verifiedLoad.set(id, memo);
    }
    this.stats.verified++;
    return true;
  }

  #leftOk(id: NodeId, incarnation: number, proof: Uint8Array | undefined): boolean {
    if (!proof) return this.#reject("unsigned");
    const key = this.keyOf(id);
    if (!key) return this.#reject("unknownKey");
    if (!verifyRaw(key, leftStatement(id, incarnation), proof)) return this.#reject("badSignature");
    this.stats.verified++;
    return true;
  }

  /**
   * A peer's table may hold this node above its own incarnation only from a previous life (a
   * restart): the entry must then carry this node's own signature at that incarnation.
   */
  #selfEntryOk(s: MemberSnapshot): boolean {
    if (s.info.id !== this.identity.id || s.state === "alive" || s.state === "left") return true;
    if (s.incarnation <= (this.lookup(s.info.id)?.incarnation ?? 0)) return true;
    return this.#aliveOk(s.incarnation, s.info, s.proof);
  }

  /** One log line per conflicting address per minute: loud, but not a flood. */
  #conflict(info: NodeInfo, msg: string): void {
    const k = `${info.id}@${info.gossip}`;
    const t = this.now();
    if ((this.#warned.get(k) ?? 0) > t - 60_000) return;
    if (this.#warned.size > 1000) this.#warned.clear();
    this.#warned.set(k, t);
    this.warn({ member: info.id, claimedAt: info.gossip, knownAt: this.lookup(info.id)?.info.gossip }, msg);
  }

  admitUpdates(updates: readonly Update[]): readonly Update[] {
    this.#gate.begin(false);
    try {
      return this.#admitUpdates(updates);
    } finally {
      this.#gate.end();
    }
  }

  #admitUpdates(updates: readonly Update[]): readonly Update[] {
    let out: Update[] | undefined;
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i]!;
      const ok =
        u.kind === "alive"
          ? this.#aliveOk(u.incarnation, u.info, u.proof)
          : u.kind === "load"
            ? this.#loadOk(u.id, u.load, u.proof)
            : u.kind === "left"
              ? this.#leftOk(u.id, u.incarnation, u.proof)
              : true;
      if (ok) out?.push(u);
      else out ??= updates.slice(0, i);
    }
    return out ?? updates;
  }

  admitSnapshots(members: readonly MemberSnapshot[], ctx?: AdmitContext): MemberSnapshot[] {
    this.#gate.begin(true);
    this.#ctx = ctx;
    try {
      return this.#admitSnapshots(members);
    } finally {
      this.#ctx = undefined;
      this.#gate.end();
    }
  }

  #admitSnapshots(members: readonly MemberSnapshot[]): MemberSnapshot[] {
    const out: MemberSnapshot[] = [];
    for (const s of members) {
      if (s.state === "alive" && !this.#aliveOk(s.incarnation, s.info, s.proof)) continue;
      if (s.state === "left" && !this.#leftOk(s.info.id, s.incarnation, s.proof)) continue;
      if (!this.#selfEntryOk(s)) continue;
      if (s.load && !this.#loadOk(s.info.id, s.load, s.loadProof)) {
        const { load: _l, loadProof: _p, ...rest } = s;
        out.push(rest);
        continue;
      }
      out.push(s);
    }
    return out;
  }

  #aliveProof(incarnation: number, info: NodeInfo): Uint8Array {
    const c = this.#aliveCache;
    if (c && c.incarnation === incarnation && c.info === info) return c.proof;
    const proof = this.#signAlive(incarnation, info);
    this.#aliveCache = { incarnation, info, proof };
    return proof;
  }

  #loadProof(load: LoadFigures): Uint8Array {
    const c = this.#loadCache;
    if (c && c.load === load) return c.proof;
    const proof = signLoad(this.identity, load);
    this.#loadCache = { load, proof };
    return proof;
  }

  #signUpdate(u: Update): Update {
    if (u.kind === "alive" && u.info.id === this.identity.id && !u.proof) return { ...u, proof: this.#aliveProof(u.incarnation, u.info) };
    if (u.kind === "load" && u.id === this.identity.id && !u.proof) return { ...u, proof: this.#loadProof(u.load) };
    if (u.kind === "left" && u.id === this.identity.id && !u.proof) return { ...u, proof: signLeft(this.identity, u.incarnation) };
    return u;
  }

  signMessage(m: Message): Message {
    if (m.type === "nack") return m;
    // Our answer to a ping: only we can prove we saw its nonce. (A relay's ack carries the
    // target's proof, already there.)
    const signed = m.type === "ack" && !m.proof && m.from === this.identity.id ? { ...m, proof: this.proveLiveness(m.nonce) } : m;
    if (signed.updates.length === 0) return signed;
    return { ...signed, updates: signed.updates.map((u) => this.#signUpdate(u)) } as Message;
  }

  proveLiveness(nonce: Nonce): Proof {
    return proveLiveness(this.identity, nonce);
  }

  verifyLiveness(member: NodeId, nonce: Nonce, proof: Proof | undefined): boolean {
    const key = this.keyOf(member);
    return key !== undefined && checkLiveness(key, member, nonce, proof);
  }

  signSnapshots(members: readonly MemberSnapshot[]): MemberSnapshot[] {
    return members.map((s) => {
      if (s.info.id !== this.identity.id) return s;
      const signed: { -readonly [K in keyof MemberSnapshot]: MemberSnapshot[K] } = { ...s };
      if (s.state === "alive" && !s.proof) signed.proof = this.#aliveProof(s.incarnation, s.info);
      if (s.state === "left" && !s.proof) signed.proof = signLeft(this.identity, s.incarnation);
      if (s.load && !s.loadProof) signed.loadProof = this.#loadProof(s.load);
      return signed;
    });
  }
}
