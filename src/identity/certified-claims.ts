import type { NodeId, NodeInfo } from "../membership/types.ts";
import { splitAddress } from "../util/address.ts";
import { type Certificate, certificateStatement } from "./certificate.ts";
import { fingerprintRaw, SIGNATURE_BYTES, verifyRaw } from "./node-identity.ts";

/**
 * CA mode: every alive claim carries its subject's certificate, so every identity in every
 * member table is one the cluster authority vouched for, under the name (and, if the
 * certificate says so, the address) the claim uses, until the certificate expires.
 *
 * The certificate travels compactly after the alive proof; the receiver rebuilds what the CA
 * signed from the claim itself (the CA it trusts, the subject's key from the proof, the claimed
 * name and host), so a certificate for another name, key, host or authority does not verify:
 *
 *   flags (1: bit 0 = bound to an address) | expires, Unix seconds (8, big-endian) | CA signature (64)
 */
export const CERT_TAIL_BYTES = 1 + 8 + SIGNATURE_BYTES;
const ADDRESS_BOUND = 1;

export function certTail(cert: Certificate): Uint8Array {
  const t = Buffer.alloc(CERT_TAIL_BYTES);
  t[0] = cert.addr === undefined ? 0 : ADDRESS_BOUND;
  t.writeBigUInt64BE(BigInt(cert.expires), 1);
  Buffer.from(cert.sig, "base64").copy(t, 9, 0, SIGNATURE_BYTES);
  return t;
}

/** When the carried certificate expires (Unix seconds); the tail must be CERT_TAIL_BYTES long. */
export const tailExpires = (tail: Uint8Array): number => Number(Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength).readBigUInt64BE(1));

export type TailCheck = { ok: true; expires: number } | { ok: false; reason: "uncertified" | "expired" };

/**
 * Does `tail` carry a certificate by the CA `caKey` for this key, under the claimed name (and
 * host), valid at `nowS`?
 */
export function checkCertTail(tail: Uint8Array, caKey: Uint8Array, caId: string, nodeKey: Uint8Array, info: NodeInfo, nowS: number): TailCheck {
  if (tail.byteLength !== CERT_TAIL_BYTES || (tail[0]! & ~ADDRESS_BOUND) !== 0) return { ok: false, reason: "uncertified" };
  const expires = tailExpires(tail);
  if (expires > Number.MAX_SAFE_INTEGER) return { ok: false, reason: "uncertified" };
  let addr: string | undefined;
  if (tail[0]! & ADDRESS_BOUND) {
    addr = splitAddress(info.gossip).host;
    if (splitAddress(info.http).host !== addr) return { ok: false, reason: "uncertified" };
  }
  const statement = certificateStatement({
    ca: caId,
    key: Buffer.from(nodeKey).toString("base64"),
    name: info.name,
    expires,
    ...(addr === undefined ? {} : { addr }),
  });
  if (!verifyRaw(caKey, statement, tail.subarray(9))) return { ok: false, reason: "uncertified" };
  return expires <= nowS ? { ok: false, reason: "expired" } : { ok: true, expires };
}

/** The authority claims are checked against, and our own certificate to attach. */
export interface ClaimAuthority {
  readonly key: Uint8Array;
  readonly cert?: Certificate;
}
export const authorityId = (a: ClaimAuthority): string => fingerprintRaw(a.key);

/**
 * When each listed member's certificate runs out, so the node can remove it at that moment
 * rather than at its next join. Cheap to ask often: nothing is scanned before the earliest.
 */
export class CertificateExpiries {
  readonly #at = new Map<NodeId, number>();
  #earliest = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.#at.size;
  }

  set(id: NodeId, expires: number): void {
    this.#at.set(id, expires);
    if (expires < this.#earliest) this.#earliest = expires;
  }

  get(id: NodeId): number | undefined {
    return this.#at.get(id);
  }

  clear(): void {
    this.#at.clear();
    this.#earliest = Number.POSITIVE_INFINITY;
  }

  /** Members whose certificate expired by `nowS`; they are forgotten here. */
  due(nowS: number): NodeId[] {
    if (nowS < this.#earliest) return [];
    const out: NodeId[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [id, at] of this.#at) {
      if (at <= nowS) {
        out.push(id);
        this.#at.delete(id);
      } else if (at < next) next = at;
    }
    this.#earliest = next;
    return out;
  }
}
