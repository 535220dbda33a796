/**
 * A Worker of the handler pool (worker-pool.ts): loads the user's module once, then runs the
 * packets it is handed one at a time, in order, and posts back each result as JSON text (so a
 * result that is not JSON, or too large, fails its packet here, not in the node). The pool
 * hands over a few packets ahead so the Worker never waits for the node's busy main thread.
 */
import { MAX_RESULT_BYTES } from "./executor.ts";

declare const self: Worker;

type Handle = (packet: unknown, ctx: unknown) => unknown;
type Run = { type: "run"; id: number; packet: unknown; ctx: unknown };
let handle: Handle | undefined;
const queue: Run[] = [];
let busy = false;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 500);

function findHandle(mod: Record<string, unknown>): Handle | undefined {
  const d = mod.default as Record<string, unknown> | Handle | undefined;
  const fn = mod.handle ?? (typeof d === "function" ? d : d?.handle);
  return typeof fn === "function" ? (fn as Handle) : undefined;
}

async function runOne(m: Run): Promise<void> {
  let out: { ok: true; json: string } | { ok: false; error: string };
  const t0 = performance.now();
  try {
    const value = await handle!(m.packet, m.ctx);
    const json = JSON.stringify(value ?? null);
    if (json === undefined) out = { ok: false, error: "result is not JSON" };
    else if (Buffer.byteLength(json) > MAX_RESULT_BYTES) out = { ok: false, error: `result larger than ${MAX_RESULT_BYTES} bytes` };
    else out = { ok: true, json };
  } catch (e) {
    out = { ok: false, error: message(e) };
  }
  postMessage({ type: "done", id: m.id, ms: performance.now() - t0, ...out });
}

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  for (let m = queue.shift(); m !== undefined; m = queue.shift()) await runOne(m);
  busy = false;
}

self.onmessage = async (ev: MessageEvent) => {
  const m = ev.data as { type: "init"; path: string } | Run;
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
  queue.push(m);
  void drain();
};
