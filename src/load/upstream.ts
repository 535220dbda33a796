/**
 * `--upstream URL`: the sidecar model for any language. Each packet is POSTed to a local
 * service as `{"packet": {...}, "ctx": {...}}` (what a --handler module's handle(packet, ctx)
 * gets); a 2xx JSON answer is the result, anything else (non-2xx, not JSON, too large, no
 * answer within the timeout) fails the packet.
 */
import { type AsyncExecutor, checkResult, type HandlerContext, type HandlerPacket, MAX_RESULT_BYTES, type Outcome } from "./executor.ts";

async function readLimited(res: Response, max: number): Promise<string | undefined> {
  if (Number(res.headers.get("content-length") ?? "0") > max) {
    void res.body?.cancel();
    return undefined;
  }
  const text = await res.text();
  return Buffer.byteLength(text) > max ? undefined : text;
}

export function upstreamExecutor(url: string, slots: number, timeoutMs: number): AsyncExecutor {
  const counts = { upstream_errors: 0 };
  const fail = (error: string): Outcome => {
    counts.upstream_errors++;
    return { ok: false, error };
  };
  return {
    kind: "async",
    name: `upstream ${url}`,
    slots,
    stats: () => ({ ...counts }),
    close: async () => {},
    async run(packet: HandlerPacket, ctx: HandlerContext): Promise<Outcome> {
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ packet, ctx }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (e) {
        return fail((e as Error).name === "TimeoutError" ? `upstream timed out after ${timeoutMs} ms` : `upstream unreachable: ${(e as Error).message}`);
      }
      let text: string | undefined;
      try {
        text = await readLimited(res, MAX_RESULT_BYTES);
      } catch (e) {
        return fail(`upstream answer unreadable: ${(e as Error).message}`);
      }
      if (text === undefined) return fail(`upstream answer larger than ${MAX_RESULT_BYTES} bytes`);
      if (!res.ok) return fail(`upstream answered ${res.status}: ${text.slice(0, 200)}`);
      if (text.trim() === "") return { ok: true, result: null };
      try {
        return checkResult(JSON.parse(text));
      } catch {
        return fail("upstream answered with something other than JSON");
      }
    },
  };
}
