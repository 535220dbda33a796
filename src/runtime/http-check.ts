import * as v from "valibot";
import type { HealthAnswer } from "../driver/node-io.ts";
import type { Address, Nonce } from "../membership/types.ts";
import { peerFetch } from "../ports/peer-http.ts";
import { isConnectionRefused } from "../util/connection-refused.ts";
import { healthAnswerSchema } from "../wire/health.ts";

/** A health answer is a few hundred bytes; anything longer is not one. */
const MAX_ANSWER_BYTES = 1024;

/**
 * The fallback probe: challenge the member's HTTP port with GET /health?challenge=NONCE. An
 * answer proves the process runs, as memberlist's TCP ping does when UDP is lossy, but only for
 * the identity it names and proves (the core checks both); a refused connection means the host
 * is up and nothing listens: the process crashed. Silence proves nothing.
 */
export async function checkHealth(address: Address, timeoutMs: number, nonce: Nonce): Promise<HealthAnswer> {
  try {
    const res = await peerFetch(address, `/health?challenge=${Buffer.from(nonce).toString("base64url")}`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok || Number(res.headers.get("content-length") ?? 0) > MAX_ANSWER_BYTES) {
      await res.body?.cancel();
      return { result: "answered" };
    }
    const text = await res.text();
    if (text.length > MAX_ANSWER_BYTES) return { result: "answered" };
    const parsed = v.safeParse(healthAnswerSchema, JSON.parse(text));
    if (!parsed.success) return { result: "answered" };
    const { id, proof } = parsed.output;
    return proof ? { result: "answered", id, proof: new Uint8Array(Buffer.from(proof, "base64")) } : { result: "answered", id };
  } catch (e) {
    if (isConnectionRefused(e)) return { result: "refused" };
    // An answer that is not JSON still came from a running process, though not a provable one.
    return e instanceof SyntaxError ? { result: "answered" } : { result: "silent" };
  }
}
