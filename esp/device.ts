/**
 * One simulated ESP device, behaving like one: every interval it makes a packet into a bounded
 * send buffer (the oldest is dropped when it is full), and sends from it with at most `window`
 * requests in flight. A packet is retried with the same packet_id until some node acknowledges
 * it: failing over between nodes on a timeout, reset or refusal (backoff with jitter), and
 * waiting out `Retry-After` on a 503. While a node paces it (`pace_ms` in an acknowledgement),
 * the device sends its next packet no sooner. It does not stick to the node that paced it: nodes
 * hand out slots at their own capacity, and a device that keeps choosing by load ratio sees the
 * cluster's average, so every device gets about the same share.
 */
import type { Directory } from "./directory.ts";
import type { Tally } from "./report.ts";
import { attempt, type DeviceTls, type Packet } from "./send.ts";

export interface DeviceEnv {
  readonly directory: Directory;
  readonly tally: Tally;
  readonly timeoutMs: number;
  readonly minLoad: number;
  readonly maxLoad: number;
  /** Packets the device holds before dropping the oldest. */
  readonly bufferSize: number;
  /** Requests in flight at once. */
  readonly window: number;
  /** Set when the run stops; `giveUpAt` is when undelivered packets in flight count as lost. */
  readonly stop: { stopping: boolean; giveUpAt: number };
  readonly log?: (line: string) => void;
  /** --device-key: this device's own key, to sign its packets. */
  readonly keyOf?: (deviceId: string) => string;
  /** --tls-ca: the nodes speak https. */
  readonly tls?: DeviceTls;
}

/** How long a refused node is skipped, and a timed-out one. */
const DOWN_MS = 3000;
const SLOW_MS = 1000;
const MAX_BACKOFF_MS = 2000;

export class Device {
  #seq = 0;
  /** A node a reply told us to use next time (the seed's `redirected`). */
  #hint: string | undefined;
  /** A node paced us or asked us to retry later: nothing is sent before this. */
  #notBefore = 0;
  readonly #buffer: Packet[] = [];
  #active = 0;
  acked = 0;
  readonly inFlight = new Set<Promise<void>>();
  readonly #key: string | undefined;

  constructor(
    readonly id: string,
    /** Differs per run, so packet ids never repeat across runs with the same --seed. */
    private readonly run: string,
    private readonly env: DeviceEnv,
    private readonly random: () => number,
  ) {
    this.#key = env.keyOf?.(id);
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  /** Make the next packet, buffer it (dropping the oldest if full) and send what the window allows. */
  produce(): void {
    const e = this.env;
    const load = Math.round(e.minLoad + this.random() * (e.maxLoad - e.minLoad));
    const p: Packet = { packet_id: `${this.id}-${this.run}-${++this.#seq}`, device_id: this.id, processing_load: Math.max(e.minLoad, load) };
    e.tally.sent++;
    e.tally.units_sent += p.processing_load;
    if (this.#buffer.length >= e.bufferSize) {
      this.#buffer.shift();
      e.tally.dropped++;
    }
    this.#buffer.push(p);
    this.#pump();
  }

  /** Resolves when nothing is in flight and nothing more will be sent (buffer empty or given up). */
  async drained(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  #pump(): void {
    while (this.#active < this.env.window && this.#buffer.length > 0 && !this.#givenUp()) {
      const p = this.#buffer.shift()!;
      this.#active++;
      const job: Promise<void> = this.#deliver(p).finally(() => {
        this.#active--;
        this.inFlight.delete(job);
        this.#pump();
      });
      this.inFlight.add(job);
    }
  }

  #givenUp(): boolean {
    return this.env.stop.stopping && performance.now() > this.env.stop.giveUpAt;
  }

  async #deliver(p: Packet): Promise<void> {
    const { directory, tally } = this.env;
    const start = performance.now();
    /** Nodes that may have seen this packet: sent along so the taker can check them. */
    const tried: string[] = [];
    const avoid = new Set<string>();
    /** Some attempt went unanswered: a node may have taken it. */
    let unclear = false;
    let last: string | undefined;
    let failed = false;
    for (let n = 0; ; n++) {
      const wait = this.#notBefore - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      if (this.#givenUp()) {
        // No node may have it (every answer was clear): the device still holds it. Else it is lost.
        if (tried.length === 0 || !unclear) this.#buffer.unshift(p);
        return;
      }
      const node = this.#pick(avoid);
      if (!node) {
        await Bun.sleep(backoff(n + 1, this.random));
        continue;
      }
      if (n > 0) {
        tally.retries++;
        if (node !== last) tally.failovers++;
      }
      last = node;
      tally.requests++;
      const r = await attempt(node, p, tried, this.env.timeoutMs, this.#key, this.env.tls);
      if (r.kind === "accepted") {
        const ms = performance.now() - start;
        this.acked++;
        tally.acknowledged++;
        tally.latenciesMs.push(ms);
        if (failed) tally.failoverMs.push(ms);
        if (r.duplicate) tally.duplicates++;
        tally.handledBy.set(r.handledBy, (tally.handledBy.get(r.handledBy) ?? 0) + 1);
        if (r.ratio !== undefined) directory.noteRatio(node, r.ratio);
        if (r.redirected) {
          tally.redirects++;
          directory.learn(r.redirected);
          this.#hint = r.redirected;
        }
        if (r.paceMs) {
          tally.paced++;
          this.#notBefore = performance.now() + r.paceMs;
        }
        this.env.log?.(
          `${p.device_id} packet ${p.packet_id} load ${p.processing_load} -> ${r.handledBy}${r.redirected ? " (redirected)" : ""}${r.duplicate ? " (duplicate)" : ""} ${ms.toFixed(1)} ms${r.paceMs ? `, next in ${r.paceMs} ms` : ""}`,
        );
        return;
      }
      failed = true;
      if (r.kind === "client-error") {
        tally.client_errors++;
        this.env.log?.(`${p.device_id} packet ${p.packet_id} refused by ${node}: ${r.status} ${r.error}`);
        return;
      }
      if (r.kind === "busy") {
        // Wait out the slot the node gave us (never sooner, a little jitter later).
        tally.rejected_503++;
        this.#notBefore = performance.now() + r.retryAfterMs * (1 + 0.1 * this.random());
        if (!tried.includes(node)) tried.push(node);
        this.env.log?.(`${p.device_id} packet ${p.packet_id} to ${node}: busy, retry in ${Math.round(r.retryAfterMs)} ms`);
        continue;
      }
      if (r.kind === "unclear") unclear = true;
      // A refused node goes along too: the runtime retries a POST on a reused connection the
      // node closed as it died, so "refused" can follow an attempt the node took. The taker then
      // finds it gone and asks every member, the dead node's backup (holding its copy) included.
      if (!tried.includes(node)) tried.push(node);
      avoid.add(node);
      if (avoid.size >= directory.nodes.size) avoid.clear();
      directory.markDown(node, r.kind === "refused" ? DOWN_MS : SLOW_MS);
      this.env.log?.(`${p.device_id} packet ${p.packet_id} to ${node} failed (${r.kind === "unclear" ? r.reason : r.kind}), failing over`);
      // The first failover is immediate (another node is likely fine); then back off.
      const pause = backoff(n, this.random);
      if (pause > 0) await Bun.sleep(pause);
    }
  }

  /** A redirect hint, else the directory's choice. */
  #pick(avoid: ReadonlySet<string>): string | undefined {
    const { directory } = this.env;
    const hint = this.#hint;
    this.#hint = undefined;
    if (hint && !avoid.has(hint) && directory.isUsable(hint)) return hint;
    return directory.choose(this.random, avoid);
  }
}

function backoff(n: number, random: () => number): number {
  if (n === 0) return 0;
  return Math.min(MAX_BACKOFF_MS, 25 * 2 ** (n - 1)) * (0.5 + random() / 2);
}
