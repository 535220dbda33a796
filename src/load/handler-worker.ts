/**
 * A Worker of the handler pool (worker-pool.ts): loads the user's module once, then runs one
 * packet at a time and posts back the result as JSON text (so a result that is not JSON, or too
 * large, fails its packet here, not in the node).
 */
import { MAX_RESULT_BYTES } from "./executor.ts";

declare const self: Worker;

type Handle = (packet: unknown, ctx: unknown) => unknown;
let handle: Handle | undefined;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 500);

function findHandle(mod: Record<string, unknown>): Handle | undefined {
  const d = mod.default as Record<string, unknown> | Handle | undefined;
  const fn = mod.handle ?? (typeof d === "function" ? d : d?.handle);
  return typeof fn === "function" ? (fn as Handle) : undefined;
}

self.onmessage = async (ev: MessageEvent) => {
  const m = ev.data as { type: "init"; path: string } | { type: "run"; id: number; packet: unknown; ctx: unknown };
  if (m.type === "init") {
    try {
      handle = findHandle(await import(m.path));
      if (!handle) throw new Error(`${m.path} does not export handle(packet, ctx)`);
      postMessage({ type: "ready" });
    } catch (e) {
      postMessage({ type: "init-error", error: message(e) });
    }
    return;
  }
  let out: { ok: true; json: string } | { ok: false; error: string };
  try {
    const value = await handle!(m.packet, m.ctx);
    const json = JSON.stringify(value ?? null);
    if (json === undefined) out = { ok: false, error: "result is not JSON" };
    else if (Buffer.byteLength(json) > MAX_RESULT_BYTES) out = { ok: false, error: `result larger than ${MAX_RESULT_BYTES} bytes` };
    else out = { ok: true, json };
  } catch (e) {
    out = { ok: false, error: message(e) };
  }
  postMessage({ type: "done", id: m.id, ...out });
};
