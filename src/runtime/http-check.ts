import type { Address, CheckResult } from "../membership/types.ts";
import { peerFetch } from "../ports/peer-http.ts";
import { isConnectionRefused } from "../util/connection-refused.ts";

/**
 * The fallback probe: ask the member's HTTP port for /health. An answer (any status) proves the
 * process runs, as memberlist's TCP ping does when UDP is lossy; a refused connection means the
 * host is up and nothing listens: the process crashed. Silence proves nothing.
 */
export async function checkHealth(address: Address, timeoutMs: number): Promise<CheckResult> {
  try {
    const res = await peerFetch(address, "/health", { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return "answered";
  } catch (e) {
    return isConnectionRefused(e) ? "refused" : "silent";
  }
}
