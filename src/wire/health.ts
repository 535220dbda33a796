import * as v from "valibot";
import { base64, nodeId } from "./fields.ts";

/**
 * GET /health?challenge=NONCE: the prober's nonce in base64url (8-32 bytes), answered with the
 * node's id and, in secured modes, its proof of life over the nonce (base64 Ed25519 signature).
 */
export const MAX_CHALLENGE_CHARS = 43;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export const healthAnswerSchema = v.object({ status: v.pipe(v.string(), v.maxLength(16)), id: nodeId, proof: v.optional(base64(100)) });

/** The nonce of a challenge, or why it is not one. */
export function parseChallenge(raw: string): Uint8Array | string {
  if (raw.length > MAX_CHALLENGE_CHARS || !BASE64URL.test(raw)) return "challenge must be 8-32 bytes in base64url";
  const nonce = new Uint8Array(Buffer.from(raw, "base64url"));
  return nonce.byteLength >= 8 && nonce.byteLength <= 32 ? nonce : "challenge must be 8-32 bytes in base64url";
}
