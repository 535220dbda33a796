import type { NodeId, Nonce } from "../membership/types.ts";
import { type NodeIdentity, signWith, verifyRaw } from "./node-identity.ts";

/**
 * Proof of life: a member's Ed25519 signature over its id and a prober's fresh nonce. It answers
 * a ping (in the ack) and an HTTP health challenge alike, so a relay can pass on either. Only the
 * member's own key makes it, and only after the nonce was drawn: a recorded or guessed answer,
 * another process at the member's address, or an insider acking on its behalf proves nothing.
 */
const enc = new TextEncoder();

export function livenessStatement(id: NodeId, nonce: Nonce): Uint8Array {
  const head = enc.encode(`dsef/v1 live ${id} `);
  const out = new Uint8Array(head.byteLength + nonce.byteLength);
  out.set(head);
  out.set(nonce, head.byteLength);
  return out;
}

export function proveLiveness(identity: NodeIdentity, nonce: Nonce): Uint8Array {
  return new Uint8Array(signWith(identity.privateKey, livenessStatement(identity.id, nonce)));
}

/** `key` is the member's raw public key, as its alive proof carries it. */
export function checkLiveness(key: Uint8Array, id: NodeId, nonce: Nonce, proof: Uint8Array | undefined): boolean {
  return proof !== undefined && verifyRaw(key, livenessStatement(id, nonce), proof);
}
