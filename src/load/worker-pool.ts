/**
 * `--handler PATH`: the user's module run in a pool of Bun Workers, one packet per Worker at a
 * time. A handler that throws fails its packet; one that runs past the timeout, or crashes its
 * Worker (an uncaught error, process.exit), fails its packet and the Worker is replaced, so
 * the node and the other packets carry on.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "../log/logger.ts";
import type { AsyncExecutor, HandlerContext, HandlerPacket, Outcome } from "./executor.ts";

interface Job {
  readonly id: number;
  readonly done: (o: Outcome) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface Slot {
  worker: Worker;
  job?: Job;
  /** Terminated on purpose: its close event is not a crash. */
  retired?: boolean;
}

type FromWorker =
  | { type: "ready" }
  | { type: "init-error"; error: string }
  | { type: "done"; id: number; ok: true; json: string }
  | { type: "done"; id: number; ok: false; error: string };

const WORKER_URL = new URL("./handler-worker.ts", import.meta.url);
/** A Worker that cannot even load the module again waits this long before the next try. */
const RESPAWN_DELAY_MS = 1000;

export class WorkerPool implements AsyncExecutor {
  readonly kind = "async";
  readonly name: string;
  readonly #idle: Slot[] = [];
  readonly #waiting: ((s: Slot | undefined) => void)[] = [];
  readonly #all = new Set<Slot>();
  #seq = 0;
  #closed = false;
  readonly counts = { timeouts: 0, crashes: 0, restarts: 0 };

  private constructor(
    path: string,
    readonly url: string,
    readonly slots: number,
    readonly timeoutMs: number,
    private readonly log: Logger,
  ) {
    this.name = `handler ${path}`;
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

  async run(packet: HandlerPacket, ctx: HandlerContext): Promise<Outcome> {
    const slot = this.#idle.pop() ?? (await new Promise<Slot | undefined>((r) => this.#waiting.push(r)));
    if (!slot || this.#closed) return { ok: false, error: "node stopping" };
    return new Promise<Outcome>((done) => {
      const id = ++this.#seq;
      const timer = setTimeout(() => {
        this.counts.timeouts++;
        this.#fail(slot, `handler timed out after ${this.timeoutMs} ms`);
      }, this.timeoutMs);
      slot.job = { id, done, timer };
      slot.worker.postMessage({ type: "run", id, packet, ctx });
    });
  }

  stats(): Record<string, number> {
    return { workers: this.#all.size, idle_workers: this.#idle.length, ...this.counts };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#all) {
      s.retired = true;
      if (s.job) this.#settle(s, { ok: false, error: "node stopping" });
      s.worker.terminate();
    }
    this.#all.clear();
    for (const w of this.#waiting.splice(0)) w(undefined);
  }

  /** A new Worker with the module loaded; resolves once it is idle, rejects if loading failed. */
  #spawn(): Promise<void> {
    const worker = new Worker(WORKER_URL.href);
    const slot: Slot = { worker };
    this.#all.add(slot);
    return new Promise<void>((ready, failed) => {
      let started = false;
      worker.addEventListener("message", (ev: MessageEvent) => {
        const m = ev.data as FromWorker;
        if (m.type === "ready") {
          started = true;
          this.#release(slot);
          ready();
        } else if (m.type === "init-error") {
          slot.retired = true;
          this.#all.delete(slot);
          worker.terminate();
          failed(new Error(`cannot load handler: ${m.error}`));
        } else if (m.type === "done" && slot.job?.id === m.id) {
          let outcome: Outcome;
          if (!m.ok) outcome = { ok: false, error: m.error };
          else outcome = { ok: true, result: JSON.parse(m.json) };
          this.#settle(slot, outcome);
          this.#release(slot);
        }
      });
      const crashed = (why: string) => {
        if (slot.retired) return;
        if (!started) {
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

  #settle(slot: Slot, outcome: Outcome): void {
    const job = slot.job;
    if (!job) return;
    slot.job = undefined;
    clearTimeout(job.timer);
    job.done(outcome);
  }

  #release(slot: Slot): void {
    if (this.#closed || slot.retired) return;
    const next = this.#waiting.shift();
    if (next) next(slot);
    else this.#idle.push(slot);
  }

  /** Fail the slot's packet and replace its Worker (the only way to stop a runaway handler). */
  #fail(slot: Slot, error: string): void {
    this.log.warn({ handler: this.url, error }, "handler failed; replacing its worker");
    slot.retired = true;
    this.#all.delete(slot);
    slot.worker.terminate();
    this.#settle(slot, { ok: false, error });
    if (this.#closed) return;
    this.counts.restarts++;
    const respawn = () =>
      this.#spawn().catch((e: Error) => {
        this.log.error({ handler: this.url, err: e.message }, "cannot restart a handler worker; retrying");
        if (!this.#closed) setTimeout(respawn, RESPAWN_DELAY_MS);
      });
    void respawn();
  }
}
