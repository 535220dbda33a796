/**
 * A node's work, packet by packet. Admitted packets wait in arrival order and run on the
 * executor's slots; each finishes done (with a result) or failed, and `onFinish` hears of it.
 *
 * Synthetic packets (executor.ts, `timed`) take units / capacity seconds on the queue's own
 * clock: one finishing at t starts the next at t, whenever the queue is next looked at (a
 * timer, a new packet, a read), so the backlog is exactly the seed's draining queue and reads
 * with an injected clock need no timers. User handlers run as they run; the backlog in seconds
 * comes from the measured service rate.
 */
import type { AsyncExecutor, Executor, HandlerContext, Outcome } from "./executor.ts";
import { ServiceRate } from "./service-rate.ts";

export interface QueuedPacket {
  readonly id: string;
  readonly units: number;
  readonly deviceId?: string;
  readonly payload?: unknown;
  /** Run here because the node that took it died (see replication). */
  readonly takeover?: boolean;
}

export type RunState = "queued" | "running";

interface Entry {
  readonly p: QueuedPacket;
  state: RunState;
  readonly queuedAt: number;
  startedAt: number;
  /** Timed packets: when they finish. */
  finishAt: number;
}

export interface Finished {
  readonly packet: QueuedPacket;
  readonly outcome: Outcome;
  readonly queuedAt: number;
  readonly startedAt: number;
  readonly finishedAt: number;
}

export interface QueueClock {
  now(): number;
  /** Call `fn` in `ms`; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const realClock: QueueClock = {
  now: () => performance.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** Packets without a device id share one fairness account. */
export const deviceKey = (p: { deviceId?: string }): string => p.deviceId ?? "";

export class PacketQueue {
  readonly rate: ServiceRate;
  #waiting: Entry[] = [];
  #head = 0;
  #queuedUnits = 0;
  readonly #running = new Set<Entry>();
  /** The synthetic handler's one running packet (the hot path avoids iterating #running). */
  #current: Entry | undefined;
  /** When the last user-handler packet finished (for the throughput estimate). */
  #lastDoneAt: number | undefined;
  readonly #byId = new Map<string, Entry>();
  readonly #perDevice = new Map<string, number>();
  #cancelTimer: (() => void) | undefined;
  #closed = false;
  /** Units ever admitted, and units of packets that finished (done or failed). */
  added = 0;
  #finishedUnits = 0;
  done = 0;
  failed = 0;

  constructor(
    readonly executor: Executor,
    /** --promised_capacity, units per second. */
    readonly promised: number,
    private readonly ctx: Omit<HandlerContext, "takeover">,
    private readonly onFinish: (f: Finished) => void,
    private readonly clock: QueueClock = realClock,
  ) {
    if (!(promised > 0)) throw new RangeError("capacity must be positive");
    this.rate = new ServiceRate(executor.kind === "async" ? (executor.parallel ?? executor.slots) : 1, promised);
  }

  /** Admit a packet; it runs when a slot is free. */
  add(p: QueuedPacket, now = this.clock.now()): void {
    const e: Entry = { p, state: "queued", queuedAt: now, startedAt: 0, finishAt: 0 };
    this.#byId.set(p.id, e);
    this.#waiting.push(e);
    this.#queuedUnits += p.units;
    this.added += p.units;
    const d = deviceKey(p);
    this.#perDevice.set(d, (this.#perDevice.get(d) ?? 0) + p.units);
    this.#pump(now);
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Where packet `id` is, if still here. */
  state(id: string, now = this.clock.now()): { state: RunState; queuedAt: number; startedAt?: number } | undefined {
    this.#pump(now);
    const e = this.#byId.get(id);
    if (!e) return undefined;
    return e.state === "running" ? { state: e.state, queuedAt: e.queuedAt, startedAt: e.startedAt } : { state: e.state, queuedAt: e.queuedAt };
  }

  /** Units per second: promised for the synthetic handler, measured (capped) for a user's. */
  capacity(): number {
    return this.executor.kind === "timed" ? this.promised : this.rate.capacity();
  }

  /** Seconds of work queued and running: the node's load ratio. */
  seconds(now = this.clock.now()): number {
    this.#pump(now);
    if (this.executor.kind === "timed") {
      const r = this.#current;
      const running = r ? Math.min(r.finishAt - r.startedAt, Math.max(0, r.finishAt - now)) / 1000 : 0;
      return this.#queuedUnits / this.promised + running;
    }
    // Running packets count whole: at most one packet per Worker too many.
    let running = 0;
    for (const r of this.#running) running += r.p.units;
    return (this.#queuedUnits + running) / this.capacity();
  }

  /** The backlog in units of promised capacity (seconds × promised), the figure peers divide by it. */
  backlog(now = this.clock.now()): number {
    return this.seconds(now) * this.promised;
  }

  /** Units finished, plus the finished part of the synthetic handler's running packet. */
  processed(now = this.clock.now()): number {
    this.#pump(now);
    const r = this.#current;
    if (!r || r.finishAt <= r.startedAt) return this.#finishedUnits;
    return this.#finishedUnits + r.p.units * Math.min(1, Math.max(0, (now - r.startedAt) / (r.finishAt - r.startedAt)));
  }

  /** Units queued or running for `device`. */
  deviceUnits(device: string): number {
    return this.#perDevice.get(device) ?? 0;
  }

  /** Devices with work here. */
  get devices(): number {
    return this.#perDevice.size;
  }

  get queued(): number {
    return this.#waiting.length - this.#head;
  }

  get running(): number {
    return this.#running.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelTimer?.();
    if (this.executor.kind === "async") await this.executor.close();
  }

  #next(): Entry | undefined {
    if (this.#head >= this.#waiting.length) return undefined;
    const e = this.#waiting[this.#head++]!;
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    this.#queuedUnits -= e.p.units;
    if (this.#head === this.#waiting.length) this.#queuedUnits = 0; // no drift from float sums
    return e;
  }

  #pump(now: number): void {
    if (this.#closed) return;
    if (this.executor.kind === "timed") this.#pumpTimed(now);
    else this.#pumpAsync(now, this.executor);
  }

  #pumpTimed(now: number): void {
    for (;;) {
      const r = this.#current;
      if (r && r.finishAt <= now) {
        this.#running.delete(r);
        this.#current = undefined;
        this.#finish(r, { ok: true, result: { units: r.p.units } }, r.finishAt);
        // The slot never idled: the next packet started the moment this one finished.
        this.#startTimed(r.finishAt);
        continue;
      }
      if (!r && this.#startTimed(now)) continue;
      break;
    }
    // One timer at a time: it fires no later than the running packet's finish (packets finish on
    // the queue's clock whenever it is looked at; the timer only makes sure someone looks).
    const r = this.#current;
    if (r && this.#cancelTimer === undefined) {
      this.#cancelTimer = this.clock.setTimer(Math.max(0, r.finishAt - now), () => {
        this.#cancelTimer = undefined;
        this.#pump(this.clock.now());
      });
    }
  }

  #startTimed(at: number): boolean {
    const e = this.#next();
    if (!e) return false;
    e.state = "running";
    e.startedAt = at;
    e.finishAt = at + (1000 * e.p.units) / this.promised;
    this.#running.add(e);
    this.#current = e;
    return true;
  }

  #pumpAsync(now: number, ex: AsyncExecutor): void {
    while (this.#running.size < ex.slots) {
      const e = this.#next();
      if (!e) return;
      e.state = "running";
      e.startedAt = now;
      this.#running.add(e);
      const { p } = e;
      const packet = {
        packet_id: p.id,
        processing_load: p.units,
        ...(p.deviceId !== undefined ? { device_id: p.deviceId } : {}),
        ...(p.payload !== undefined ? { payload: p.payload } : {}),
      };
      void ex.run(packet, { ...this.ctx, takeover: p.takeover === true }).then((outcome) => {
        const at = this.clock.now();
        this.#running.delete(e);
        this.rate.observe(p.units, (outcome.ms ?? at - e.startedAt) / 1000);
        if (this.queued > 0 && this.#lastDoneAt !== undefined) this.rate.observeBacklogged(p.units, (at - this.#lastDoneAt) / 1000);
        this.#lastDoneAt = at;
        this.#finish(e, outcome, at);
        this.#pump(at);
      });
    }
  }

  #finish(e: Entry, outcome: Outcome, at: number): void {
    this.#byId.delete(e.p.id);
    const d = deviceKey(e.p);
    const left = (this.#perDevice.get(d) ?? 0) - e.p.units;
    if (left > 1e-9) this.#perDevice.set(d, left);
    else this.#perDevice.delete(d);
    this.#finishedUnits += e.p.units;
    if (outcome.ok) this.done++;
    else this.failed++;
    this.onFinish({ packet: e.p, outcome, queuedAt: e.queuedAt, startedAt: e.startedAt, finishedAt: at });
  }
}
