/**
 * One simulated ESP device: every interval it makes a packet and delivers it, failing over
 * between nodes and retrying the same packet_id with backoff until some node acknowledges it.
 */
import type { Directory } from "./directory.ts";
import type { Tally } from "./report.ts";
import { attempt, type Packet } from "./send.ts";

export interface DeviceEnv {
  readonly directory: Directory;
  readonly tally: Tally;
  readonly timeoutMs: number;
  readonly minLoad: number;
  readonly maxLoad: number;
  /** Set when the run stops; `giveUpAt` is when undelivered packets count as lost. */
  readonly stop: { stopping: boolean; giveUpAt: number };
  readonly log?: (line: string) => void;
  /** --device-key: this device's own key, to sign its packets. */
  readonly keyOf?: (deviceId: string) => string;
  /** --tls-ca: the nodes speak https, verified against this CA. */
  readonly tls?: { ca: string };
}

/** How long a refused node is skipped, and a timed-out one. */
const DOWN_MS = 3000;
const SLOW_MS = 1000;
const MAX_BACKOFF_MS = 2000;

export class Device {
  #seq = 0;
  /** A node a reply told us to use next time (the seed's `redirected`). */
  #hint: string | undefined;
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

  /** Make and deliver the next packet; resolves when acknowledged or given up. */
  sendNext(): Promise<void> {
    const e = this.env;
    const load = Math.round(e.minLoad + this.random() * (e.maxLoad - e.minLoad));
    const p: Packet = { packet_id: `${this.id}-${this.run}-${++this.#seq}`, device_id: this.id, processing_load: Math.max(e.minLoad, load) };
    const job = this.#deliver(p).finally(() => this.inFlight.delete(job));
    this.inFlight.add(job);
    return job;
  }

  async #deliver(p: Packet): Promise<void> {
    const { directory, tally } = this.env;
    tally.sent++;
    tally.units_sent += p.processing_load;
    const start = performance.now();
    /** Nodes that may have seen this packet: sent along so the taker can check them. */
    const tried: string[] = [];
    const avoid = new Set<string>();
    let last: string | undefined;
    let failed = false;
    for (let n = 0; ; n++) {
      if (this.env.stop.stopping && performance.now() > this.env.stop.giveUpAt) return;
      const hint = this.#hint;
      this.#hint = undefined;
      const node = n === 0 && hint && directory.isUsable(hint) ? hint : directory.choose(this.random, avoid);
      if (!node) {
        await Bun.sleep(backoff(n, this.random));
        continue;
      }
      if (n > 0) {
        tally.retries++;
        if (node !== last) tally.failovers++;
      }
      last = node;
      const r = await attempt(node, p, tried, this.env.timeoutMs, this.#key, this.env.tls);
      if (r.kind === "accepted") {
        const ms = performance.now() - start;
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
        this.env.log?.(
          `${p.device_id} packet ${p.packet_id} load ${p.processing_load} -> ${r.handledBy}${r.redirected ? ` (redirected)` : ""}${r.duplicate ? " (duplicate)" : ""} ${ms.toFixed(1)} ms`,
        );
        return;
      }
      failed = true;
      if (r.kind === "client-error") {
        tally.client_errors++;
        this.env.log?.(`${p.device_id} packet ${p.packet_id} refused by ${node}: ${r.status} ${r.error}`);
        return;
      }
      if (!tried.includes(node) && r.kind !== "refused") tried.push(node);
      avoid.add(node);
      if (avoid.size >= directory.nodes.size) avoid.clear();
      if (r.kind === "refused") directory.markDown(node, DOWN_MS);
      if (r.kind === "unclear") directory.markDown(node, SLOW_MS);
      if (r.kind === "busy") tally.rejected_503++;
      this.env.log?.(`${p.device_id} packet ${p.packet_id} to ${node} failed (${r.kind === "unclear" ? r.reason : r.kind}), failing over`);
      // The first failover is immediate (another node is likely fine); then back off.
      const wait = r.kind === "busy" ? Math.max(backoff(n, this.random), Math.min(r.retryAfterMs, 5000) * (avoid.size === 0 ? 1 : 0)) : backoff(n, this.random);
      if (wait > 0) await Bun.sleep(wait);
    }
  }
}

function backoff(n: number, random: () => number): number {
  if (n === 0) return 0;
  return Math.min(MAX_BACKOFF_MS, 25 * 2 ** (n - 1)) * (0.5 + random() / 2);
}
