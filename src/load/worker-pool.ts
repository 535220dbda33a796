/**
 * `--handler PATH`: the user's module run in a pool of Bun Workers, one packet per Worker at a
 * time. A handler that throws fails its packet; one that runs past the timeout, or crashes its
 * Worker (an uncaught error, process.exit), fails its packet and the Worker is replaced, so
 * the node and the other packets carry on.
 *
 * Each Worker is handed up to PIPELINE packets ahead (it runs them in order), so it never waits
 * for the node's main thread between packets when that thread is busy with requests. The
 * timeout clock of a packet starts when it reaches the head of its Worker's line; packets
 * behind one that hangs or crashes never started, and go to another Worker.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "../log/logger.ts";
import type { AsyncExecutor, HandlerContext, HandlerPacket, Outcome } from "./executor.ts";

interface Job {
  readonly id: number;
  readonly packet: HandlerPacket;
  readonly ctx: HandlerContext;
  readonly done: (o: Outcome) => void;
}

interface Slot {
  worker: Worker;
  /** Handed to this Worker, in the order it runs them; the first is running. */
  jobs: Job[];
  /** The head's timeout. */
  timer?: ReturnType<typeof setTimeout>;
  ready: boolean;
  /** Terminated on purpose: its close event is not a crash. */
  retired?: boolean;
}

type FromWorker =
  | { type: "ready" }
  | { type: "init-error"; error: string }
  | { type: "done"; id: number; ms: number; ok: true; json: string }
  | { type: "done"; id: number; ms: number; ok: false; error: string };

/**
 * The Worker's code: beside this file when run from source; inside the compiled binary where the
 * build put it (it is an entrypoint of its own there, see scripts/build-binary.ts), under the
 * sources' common root.
 */
function workerUrl(): string {
  const here = new URL("./handler-worker.ts", import.meta.url).href;
  if (!import.meta.url.includes("$bunfs")) return here;
  return ["/$bunfs/root/load/handler-worker.js", "/$bunfs/root/src/load/handler-worker.js"].find((p) => existsSync(p)) ?? here;
}
const WORKER_URL = workerUrl();
/** A Worker that cannot even load the module again waits this long before the next try. */
const RESPAWN_DELAY_MS = 1000;
/** Packets handed to one Worker ahead of time. */
export const PIPELINE = 4;

export class WorkerPool implements AsyncExecutor {
  readonly kind = "async";
  readonly name: string;
  /** What the queue may run at once: every Worker's line. */
  readonly slots: number;
  readonly parallel: number;
  readonly #all = new Set<Slot>();
  /** Packets waiting for room in some Worker's line. */
  readonly #backlog: Job[] = [];
  #seq = 0;
  #closed = false;
  readonly counts = { timeouts: 0, crashes: 0, restarts: 0 };

  private constructor(
    path: string,
    readonly url: string,
    readonly workers: number,
    readonly timeoutMs: number,
    private readonly log: Logger,
  ) {
    this.name = `handler ${path}`;
    this.slots = workers * PIPELINE;
    this.parallel = workers;
  }

  /** Start `slots` Workers; rejects with the module's error if it cannot be loaded. */
  static async start(path: string, slots: number, timeoutMs: number, log: Logger): Promise<WorkerPool> {
    const pool = new WorkerPool(path, pathToFileURL(resolve(path)).href, slots, timeoutMs, log);
    try {
      await Promise.all(Array.from({ length: slots }, () => pool.#spawn()));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  run(packet: HandlerPacket, ctx: HandlerContext): Promise<Outcome> {
    if (this.#closed) return Promise.resolve({ ok: false, error: "node stopping" });
    return new Promise<Outcome>((done) => {
      this.#backlog.push({ id: ++this.#seq, packet, ctx, done });
      this.#dispatch();
    });
  }

  stats(): Record<string, number> {
    let idle = 0;
    for (const s of this.#all) if (s.ready && s.jobs.length === 0) idle++;
    return { workers: this.#all.size, idle_workers: idle, ...this.counts };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#all) {
      s.retired = true;
      clearTimeout(s.timer);
      for (const j of s.jobs.splice(0)) j.done({ ok: false, error: "node stopping" });
      s.worker.terminate();
    }
    this.#all.clear();
    for (const j of this.#backlog.splice(0)) j.done({ ok: false, error: "node stopping" });
  }

  /** Hand waiting packets to the Workers with the shortest lines. */
  #dispatch(): void {
    while (this.#backlog.length > 0) {
      let best: Slot | undefined;
      for (const s of this.#all) if (s.ready && !s.retired && s.jobs.length < PIPELINE && (!best || s.jobs.length < best.jobs.length)) best = s;
      if (!best) return;
      const job = this.#backlog.shift()!;
      best.jobs.push(job);
      best.worker.postMessage({ type: "run", id: job.id, packet: job.packet, ctx: job.ctx });
      if (best.jobs.length === 1) this.#arm(best);
    }
  }

  /** The head of a Worker's line is running: its clock starts now. */
  #arm(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer =
      slot.jobs.length === 0
        ? undefined
        : setTimeout(() => {
            this.counts.timeouts++;
            this.#fail(slot, `handler timed out after ${this.timeoutMs} ms`);
          }, this.timeoutMs);
  }

  /** A new Worker with the module loaded; resolves once it is idle, rejects if loading failed. */
  #spawn(): Promise<void> {
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, jobs: [], ready: false };
    this.#all.add(slot);
    return new Promise<void>((ready, failed) => {
      worker.addEventListener("message", (ev: MessageEvent) => {
        const m = ev.data as FromWorker;
        if (m.type === "ready") {
          slot.ready = true;
          ready();
          this.#dispatch();
        } else if (m.type === "init-error") {
          slot.retired = true;
          this.#all.delete(slot);
          worker.terminate();
          failed(new Error(`cannot load handler: ${m.error}`));
        } else if (m.type === "done" && slot.jobs[0]?.id === m.id) {
          const job = slot.jobs.shift()!;
          this.#arm(slot);
          job.done(m.ok ? { ok: true, result: JSON.parse(m.json), ms: m.ms } : { ok: false, error: m.error, ms: m.ms });
          this.#dispatch();
        }
      });
      const crashed = (why: string) => {
        if (slot.retired) return;
        if (!slot.ready) {
          slot.retired = true;
          this.#all.delete(slot);
          failed(new Error(`cannot load handler: ${why}`));
          return;
        }
        this.counts.crashes++;
        this.#fail(slot, `handler crashed: ${why}`);
      };
      worker.addEventListener("error", (ev: Event) => crashed((ev as ErrorEvent).message || "uncaught error"));
      worker.addEventListener("close", () => crashed("worker exited"));
      worker.postMessage({ type: "init", path: this.url });
    });
  }

  /**
   * Fail the running packet and replace the Worker (the only way to stop a runaway handler);
   * the packets behind it never started and go to other Workers.
   */
  #fail(slot: Slot, error: string): void {
    this.log.warn({ handler: this.url, error }, "handler failed; replacing its worker");
    slot.retired = true;
    this.#all.delete(slot);
    clearTimeout(slot.timer);
    slot.worker.terminate();
    const [head, ...rest] = slot.jobs.splice(0);
    this.#backlog.unshift(...rest);
    head?.done({ ok: false, error });
    if (this.#closed) return;
    this.counts.restarts++;
    const respawn = () =>
      this.#spawn().catch((e: Error) => {
        this.log.error({ handler: this.url, err: e.message }, "cannot restart a handler worker; retrying");
        if (!this.#closed) setTimeout(respawn, RESPAWN_DELAY_MS);
      });
    void respawn();
    this.#dispatch();
  }
}
