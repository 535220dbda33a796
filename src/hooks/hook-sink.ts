/**
 * One hook (an event handler or a webhook) beside the protocol: events it wants gather in its
 * batch (coalescer.ts), and a due batch is delivered when the previous delivery is over, so a
 * hook runs at most once at a time and never makes the node wait. Events it could not deliver
 * (the batch overflowed, a webhook gave up, the node stopped) are counted as dropped, and the
 * next delivery is told how many.
 */
import type { HookSpec } from "../config/hook-flags.ts";
import { COALESCE, type CoalesceOptions, Coalescer } from "./coalescer.ts";
import type { HookEvent } from "./hook-event.ts";

/** Deliver a batch; `dropped` events were lost since the last delivery. False: the batch was given up. */
export type Deliver = (events: HookEvent[], dropped: number) => Promise<boolean>;

export class HookSink {
  readonly #batch: Coalescer<HookEvent>;
  readonly #wants: ReadonlySet<string>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #busy = false;
  #closed = false;
  /** Dropped in all, and since the last delivery that went through. */
  dropped = 0;
  #unreported = 0;

  constructor(
    readonly spec: HookSpec,
    private readonly deliver: Deliver,
    opts: CoalesceOptions = COALESCE,
    private readonly clock: () => number = Date.now,
  ) {
    this.#batch = new Coalescer(opts);
    this.#wants = new Set(spec.events);
  }

  offer(e: HookEvent): void {
    if (this.#closed || !this.#wants.has(e.event)) return;
    this.#drop(this.#batch.add(e, this.clock()));
    this.#schedule();
  }

  /** Stop: pending events are dropped; a delivery under way is the caller's to abort. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#drop(this.#batch.take().length);
  }

  #drop(n: number): void {
    this.dropped += n;
    this.#unreported += n;
  }

  #schedule(): void {
    if (this.#busy || this.#closed) return;
    const at = this.#batch.dueAt();
    if (at === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#flush(), Math.max(0, at - this.clock()));
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    if (this.#busy || this.#closed) return;
    const at = this.#batch.dueAt();
    if (at === undefined) return;
    if (at > this.clock()) return this.#schedule();
    this.#busy = true;
    const events = this.#batch.take();
    const dropped = this.#unreported;
    try {
      if (await this.deliver(events, dropped)) this.#unreported -= dropped;
      else this.#drop(events.length);
    } catch {
      this.#drop(events.length);
    } finally {
      this.#busy = false;
      this.#schedule();
    }
  }
}
