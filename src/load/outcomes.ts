/**
 * What became of the packets this node ran: a bounded store of results (done or failed), and
 * the requests waiting for one (`"wait": true`, `Prefer: wait=N`, a long-polling GET
 * /packets/:id). Bounded three ways: entries expire after `ttlMs`, the oldest go beyond
 * `maxEntries` or `maxBytes` of results, and at most `maxWaiters` requests wait at once (more
 * are answered with the current state at once).
 */
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

interface Stored {
  status: PacketStatus;
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

  /** A packet finished here: keep its outcome, wake whoever waits for it. */
  finished(f: Finished, now: number): PacketStatus {
    const o = f.outcome;
    const status: PacketStatus = {
      packet_id: f.packet.id,
      state: o.ok ? "done" : "failed",
      handled_by: this.self,
      ...(o.ok ? { result: o.result } : { error: o.error }),
      queued_ms: round(f.startedAt - f.queuedAt),
      run_ms: round(f.finishedAt - f.startedAt),
      ...(f.packet.takeover ? { takeover: true } : {}),
    };
    // Results are JSON by construction (executor.ts); the length is a fair measure of memory.
    const bytes = o.ok ? (JSON.stringify(o.result)?.length ?? 4) : o.error.length;
    const old = this.#store.get(status.packet_id);
    if (old) {
      this.#bytes -= old.bytes;
      this.#store.delete(status.packet_id);
    }
    this.#store.set(status.packet_id, { status, at: now, bytes });
    this.#bytes += bytes;
    this.#bound(now);
    this.#wake(status);
    return status;
  }

  /** The stored outcome of `id`, if any. */
  get(id: string, now: number): PacketStatus | undefined {
    const s = this.#store.get(id);
    return s && now - s.at < this.limits.ttlMs ? s.status : undefined;
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

  #wake(status: PacketStatus): void {
    const set = this.#waiters.get(status.packet_id);
    if (!set) return;
    this.#waiters.delete(status.packet_id);
    this.#waiting -= set.size;
    for (const w of set) w(status);
  }

  #drop(id: string, w: (s: PacketStatus) => void): void {
    const set = this.#waiters.get(id);
    if (!set?.delete(w)) return;
    this.#waiting--;
    if (set.size === 0) this.#waiters.delete(id);
  }

  #bound(now: number): void {
    for (const [id, s] of this.#store) {
      const over = this.#store.size > this.limits.maxEntries || this.#bytes > this.limits.maxBytes;
      if (!over && now - s.at < this.limits.ttlMs) return;
      this.#store.delete(id);
      this.#bytes -= s.bytes;
    }
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
