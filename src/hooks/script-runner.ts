/**
 * Runs one event handler: `sh -c CMD` in its own process group, the members on stdin, the event
 * in its environment. A handler that outlives its timeout is killed with everything it started
 * (SIGKILL to the group); one that exits in time may leave children running, as a shell would.
 * What it prints is kept up to OUTPUT_BYTES for the log; the rest is read
 * and thrown away, so a chatty handler cannot fill the node's memory or block on a full pipe.
 */
export const OUTPUT_BYTES = 2048;

export type ScriptResult =
  | { readonly ok: true; readonly output: string; readonly ms: number }
  | { readonly ok: false; readonly reason: "exit" | "timeout" | "spawn"; readonly code?: number; readonly output: string; readonly ms: number };

export interface ScriptRun {
  readonly command: string;
  readonly env: Record<string, string>;
  readonly stdin: string;
  readonly timeoutMs: number;
  /** Aborted when the node stops: the handler is killed. */
  readonly signal?: AbortSignal;
}

export async function runScript(r: ScriptRun): Promise<ScriptResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let proc: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>;
  try {
    proc = Bun.spawn(["/bin/sh", "-c", r.command], { env: r.env, stdin: "pipe", stdout: "pipe", stderr: "pipe", detached: true });
  } catch (e) {
    return { ok: false, reason: "spawn", output: (e as Error).message, ms: ms() };
  }
  let timedOut = false;
  const killGroup = () => {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      proc.kill("SIGKILL"); // the group is gone already; make sure of the shell itself
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, r.timeoutMs);
  const onAbort = () => killGroup();
  r.signal?.addEventListener("abort", onAbort);
  const output = new BoundedText(OUTPUT_BYTES);
  const readers = [proc.stdout.getReader(), proc.stderr.getReader()];
  const reading = Promise.all(readers.map((rd) => drain(rd, output)));
  try {
    // A handler that never reads its stdin must not stop us: a closed pipe is its business.
    // write() returns a promise when the pipe is full; a handler gone by then rejects it (EPIPE).
    await proc.stdin.write(r.stdin);
    await proc.stdin.end();
  } catch {
    // EPIPE: it exited or closed stdin without reading
  }
  const code = await proc.exited;
  clearTimeout(timer);
  r.signal?.removeEventListener("abort", onAbort);
  // A child it left running in the background may hold the pipes open: stop reading, let it be.
  const drained = await Promise.race([reading.then(() => true), Bun.sleep(500).then(() => false)]);
  if (!drained) for (const rd of readers) void rd.cancel().catch(() => {});
  const text = output.text();
  if (timedOut) return { ok: false, reason: "timeout", output: text, ms: ms() };
  if (code !== 0) return { ok: false, reason: "exit", code, output: text, ms: ms() };
  return { ok: true, output: text, ms: ms() };
}

/** The first `max` bytes of what was written, as text; the rest counted, not kept. */
class BoundedText {
  #chunks: Uint8Array[] = [];
  #kept = 0;
  #cut = 0;
  constructor(private readonly max: number) {}
  push(b: Uint8Array): void {
    const room = this.max - this.#kept;
    if (room > 0) {
      const part = b.byteLength > room ? b.subarray(0, room) : b;
      this.#chunks.push(part);
      this.#kept += part.byteLength;
    }
    this.#cut += Math.max(0, b.byteLength - Math.max(0, room));
  }
  text(): string {
    const s = new TextDecoder().decode(Buffer.concat(this.#chunks)).trim();
    return this.#cut > 0 ? `${s} …(${this.#cut} more bytes)` : s;
  }
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, into: BoundedText): Promise<void> {
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      into.push(value);
    }
  } catch {
    // the process was killed mid-write, or we stopped reading
  }
}
