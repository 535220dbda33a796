/**
 * What became of the packets this node ran: a bounded store of results (done or failed), and
 * the requests waiting for one (`"wait": true`, `Prefer: wait=N`, a long-polling GET
 * /packets/:id). Bounded three ways: entries expire after `ttlMs`, the oldest go beyond
 * `maxEntries` or `maxBytes` of results, and at most `maxWaiters` requests wait at once (more
 * are answered with the current state at once).
 */
import { Fifo } from "./fifo.ts";
import type { Finished, RunState } from "./packet-queue.ts";

export type PacketState = RunState | "done" | "failed";

/** The answer of GET /packets/:id (and of a waited POST /handle_request). */
export interface PacketStatus {
  packet_id: string;
  state: PacketState;
  handled_by: string;
  result?: unknown;
  error?: string;
  /** Time from admission to start, and running time (milliseconds), once known. */
  queued_ms?: number;
  run_ms?: number;
  /** Run by a backup after its owner died. */
  takeover?: boolean;
}

/** What is kept: one flat record per packet (the status is built when someone asks). */
interface Stored {
  id: string;
  ok: boolean;
  /** The result, or the error. */
  value: unknown;
  queuedMs: number;
  runMs: number;
  takeover: boolean;
  at: number;
  bytes: number;
}

export interface OutcomeLimits {
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
  maxWaiters: number;
}

export const DEFAULT_OUTCOME_LIMITS: OutcomeLimits = { ttlMs: 10 * 60_000, maxEntries: 100_000, maxBytes: 64 * 1024 * 1024, maxWaiters: 10_000 };

export class Outcomes {
  readonly #store = new Map<string, Stored>();
  /** Oldest first, for expiry and bounds (an entry stored again later is skipped when its turn comes). */
  readonly #order = new Fifo<Stored>();
  readonly #waiters = new Map<string, Set<(s: PacketStatus) => void>>();
  #bytes = 0;
  #waiting = 0;

  constructor(
    private readonly self: string,
    private readonly limits: OutcomeLimits = DEFAULT_OUTCOME_LIMITS,
  ) {}

  get size(): number {
    return this.#store.size;
  }

  get waiting(): number {
    return this.#waiting;
  }

  /**
   * A packet finished here: keep its outcome, wake whoever waits for it. `bytes`: the result's
   * size as JSON if the caller knows it (the synthetic handler's are tiny), else measured.
   */
  finished(f: Finished, now: number, bytes?: number): void {
    const o = f.outcome;
    const id = f.packet.id;
    const size = bytes ?? (o.ok ? (JSON.stringify(o.result)?.length ?? 4) : o.error.length);
    const old = this.#store.get(id);
    if (old) this.#bytes -= old.bytes;
    const stored: Stored = {
      id,
      ok: o.ok,
      value: o.ok ? o.result : o.error,
      queuedMs: f.startedAt - f.queuedAt,
      runMs: f.finishedAt - f.startedAt,
      takeover: f.packet.takeover === true,
      at: now,
      bytes: size,
    };
    this.#store.set(id, stored);
    this.#order.push(stored);
    this.#bytes += size;
    this.#bound(now);
    if (this.#waiters.size > 0) this.#wake(id, stored);
  }

  /** The stored outcome of `id`, if any. */
  get(id: string, now: number): PacketStatus | undefined {
    const s = this.#store.get(id);
    return s && now - s.at < this.limits.ttlMs ? this.#status(s) : undefined;
  }

  #status(s: Stored): PacketStatus {
    const status: PacketStatus = { packet_id: s.id, state: s.ok ? "done" : "failed", handled_by: this.self };
    if (s.ok) status.result = s.value;
    else status.error = s.value as string;
    status.queued_ms = round(s.queuedMs);
    status.run_ms = round(s.runMs);
    if (s.takeover) status.takeover = true;
    return status;
  }

  /**
   * Resolve with the outcome of `id` when it finishes here, or with `orElse()` after `ms`.
   * When too many wait already, resolves with `orElse()` at once.
   */
  wait(id: string, ms: number, orElse: () => PacketStatus): Promise<PacketStatus> {
    if (this.#waiting >= this.limits.maxWaiters || ms <= 0) return Promise.resolve(orElse());
    return new Promise((resolve) => {
      let set = this.#waiters.get(id);
      if (!set) this.#waiters.set(id, (set = new Set()));
      const wake = (s: PacketStatus) => {
        clearTimeout(timer);
        resolve(s);
      };
      const timer = setTimeout(() => {
        this.#drop(id, wake);
        resolve(orElse());
      }, ms);
      set.add(wake);
      this.#waiting++;
    });
  }

  /** The node stops: everyone waiting gets the state as it is now. */
  close(current: (id: string) => PacketStatus | undefined): void {
    for (const [id, set] of this.#waiters) {
      const s = current(id) ?? { packet_id: id, state: "queued", handled_by: this.self };
      for (const w of set) w(s);
    }
    this.#waiters.clear();
    this.#waiting = 0;
  }

  #wake(id: string, stored: Stored): void {
    const set = this.#waiters.get(id);
    if (!set) return;
    this.#waiters.delete(id);
    this.#waiting -= set.size;
    const status = this.#status(stored);
    for (const w of set) w(status);
  }

  #drop(id: string, w: (s: PacketStatus) => void): void {
    const set = this.#waiters.get(id);
    if (!set?.delete(w)) return;
    this.#waiting--;
    if (set.size === 0) this.#waiters.delete(id);
  }

  #bound(now: number): void {
    for (let e = this.#order.peek(); e !== undefined; e = this.#order.peek()) {
      const current = this.#store.get(e.id) === e;
      const over = this.#store.size > this.limits.maxEntries || this.#bytes > this.limits.maxBytes;
      if (current && !over && now - e.at < this.limits.ttlMs) return;
      this.#order.shift();
      if (!current) continue;
      this.#store.delete(e.id);
      this.#bytes -= e.bytes;
    }
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
