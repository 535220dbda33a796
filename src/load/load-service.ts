/**
 * One node's share of the work: its queue, its idempotency window, its picture of the peers,
 * and the request path that ties them together (accept, forward once, or refuse with 503).
 * The decisions live in pure modules (router, balancer, publish-policy); this class does the I/O.
 */
import type { Logger } from "../log/logger.ts";
import type { Member } from "../membership/types.ts";
import { IdempotencyWindow } from "./idempotency.ts";
import { claimAt, forwardPacket } from "./peer-client.ts";
import { PeerLoads } from "./peer-loads.ts";
import { type Published, shouldPublish } from "./publish-policy.ts";
import type { PacketRequest } from "./request-body.ts";
import { route, type RoutePolicy } from "./router.ts";
import type { Candidate } from "./balancer.ts";
import { WorkQueue } from "./work-queue.ts";

export interface LoadOptions {
  readonly selfId: string;
  /** "ip:port" of this node's HTTP API. */
  readonly selfHttp: string;
  readonly capacity: number;
  readonly policy: RoutePolicy;
  readonly forwardTimeoutMs: number;
  readonly claimTimeoutMs: number;
  readonly windowTtlMs: number;
  readonly windowMaxEntries: number;
  /** How often to consider publishing the backlog (the probe interval). */
  readonly publishEveryMs: number;
  /** Publish when peers' estimate is off by more than this many seconds of work. */
  readonly publishThresholdS: number;
}

/** What the service needs from the running node. */
export interface LoadHost {
  members(): readonly Readonly<Member>[];
  publish(backlog: number): void;
  readonly log: Logger;
  /** Told about every answered packet request (metrics). */
  answered?(status: number, body: Record<string, unknown>, seconds: number, deviceId?: string): void;
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

export interface LoadCounters {
  accepted: number;
  forwarded: number;
  rejected: number;
  duplicates: number;
  bad_requests: number;
  forward_failures: number;
  claims_served: number;
  units_accepted: number;
  load_published: number;
}

export class LoadService {
  readonly queue: WorkQueue;
  readonly window: IdempotencyWindow;
  readonly peers = new PeerLoads();
  readonly counters: LoadCounters = {
    accepted: 0,
    forwarded: 0,
    rejected: 0,
    duplicates: 0,
    bad_requests: 0,
    forward_failures: 0,
    claims_served: 0,
    units_accepted: 0,
    load_published: 0,
  };
  /** Packet ids whose forward is still under way (a copy arriving now must not be acknowledged yet). */
  readonly #pending = new Set<string>();
  #published: Published | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly opts: LoadOptions,
    private readonly host: LoadHost,
    private readonly now: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {
    this.queue = new WorkQueue(opts.capacity, now());
    this.window = new IdempotencyWindow(opts.windowTtlMs, opts.windowMaxEntries);
  }

  start(): void {
    this.#timer ??= setInterval(() => this.tick(), this.opts.publishEveryMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Periodic: refresh peer estimates and publish our backlog if peers' picture of it is off. */
  tick(): void {
    const now = this.now();
    this.peers.candidates(now, this.host.members(), this.opts.selfId);
    const live = new Set(this.host.members().map((m) => m.info.id));
    this.peers.prune((id) => live.has(id));
    const backlog = this.queue.backlog(now);
    if (!shouldPublish(backlog, this.#published, this.opts.capacity, now, this.opts.publishThresholdS * this.opts.capacity)) return;
    this.#published = { backlog, at: now };
    this.counters.load_published++;
    this.host.publish(Math.round(backlog));
  }

  /**
   * The request path. `hop` counts the nodes the packet passed through before this one.
   * Synchronous when the packet is simply taken here (the common case, kept cheap); a promise
   * when other nodes must be asked or a forward made.
   */
  handle(req: PacketRequest, hop: number): Reply | Promise<Reply> {
    const id = req.packet_id;
    const now = this.now();
    if (id !== undefined) {
      const seen = this.window.claim(now, id, this.opts.selfHttp);
      if (seen) return this.#duplicate(id, seen.handledBy);
    }
    const decision = route({
      hop,
      ownRatio: (this.queue.backlog(now) + req.processing_load) / this.opts.capacity,
      peers: () => this.peers.candidates(now, this.host.members(), this.opts.selfId),
      policy: this.opts.policy,
      random: this.random,
    });
    if (decision.kind === "reject") return this.#reject(id, decision.retryAfterS);
    if (decision.kind === "local") return id !== undefined && req.tried?.length ? this.#checkThenAccept(req, req.tried) : this.#accept(req);
    return this.#forward(req, hop, decision.targets);
  }

  /** Forward: one hop only; unclear outcomes go along so the taker can check them. */
  async #forward(req: PacketRequest, hop: number, targets: readonly Candidate[]): Promise<Reply> {
    const id = req.packet_id;
    const self = this.opts.selfHttp;
    const units = req.processing_load;
    const unclear = [...(req.tried ?? [])];
    if (id !== undefined) this.#pending.add(id);
    try {
      for (const t of targets) {
        if (id !== undefined) this.window.update(id, t.http);
        const body: PacketRequest = { ...req, tried: id !== undefined && unclear.length > 0 ? unclear.slice(-8) : undefined };
        const out = await forwardPacket(t.http, body, hop + 1, this.opts.forwardTimeoutMs);
        if (out.kind === "accepted") {
          const by = out.reply.handled_by;
          if (id !== undefined) this.window.update(id, by);
          if (out.reply.duplicate) {
            this.counters.duplicates++;
          } else {
            this.counters.forwarded++;
            this.peers.sent(t.id, units);
          }
          return { status: 200, body: { status: "accepted", handled_by: by, redirected: by, packet_id: id, ...(out.reply.duplicate ? { duplicate: true } : {}) } };
        }
        this.counters.forward_failures++;
        this.host.log.debug({ peer: t.http, reason: out.reason, packet_id: id }, "forward failed");
        if (out.kind === "unclear") unclear.push(t.http);
      }
    } finally {
      if (id !== undefined) this.#pending.delete(id);
    }
    if (id !== undefined) this.window.update(id, self);
    if ((this.queue.backlog(this.now()) + units) / this.opts.capacity > this.opts.policy.maxBacklog) return this.#reject(id, 1);
    return id !== undefined && unclear.length > 0 ? this.#checkThenAccept(req, unclear) : this.#accept(req);
  }

  /**
   * Another node asks whether we have seen `id`. If not, we record that `claimant` has it now,
   * so a late copy of the original arriving here is acknowledged instead of processed.
   */
  claim(id: string, claimant: string): { seen: boolean; handled_by?: string } {
    this.counters.claims_served++;
    const seen = this.window.claim(this.now(), id, claimant);
    return seen ? { seen: true, handled_by: seen.handledBy } : { seen: false };
  }

  /** Report an answered request (status and body as sent, time taken) to whoever listens. */
  answered(r: Reply, seconds: number, deviceId?: string): void {
    this.host.answered?.(r.status, r.body, seconds, deviceId);
  }

  /** Units queued right now. */
  backlog(): number {
    return this.queue.backlog(this.now());
  }

  countBadRequest(): void {
    this.counters.bad_requests++;
  }

  stats(): Record<string, number> {
    const now = this.now();
    const backlog = this.queue.backlog(now);
    return {
      capacity: this.opts.capacity,
      backlog: round(backlog),
      load_ratio: round(backlog / this.opts.capacity, 4),
      ...this.counters,
      units_accepted: round(this.queue.added),
      units_processed: round(this.queue.processed(now)),
      idempotency_window: this.window.size,
    };
  }

  /** Before taking a retried packet, make sure no node it was tried at already has it. */
  async #checkThenAccept(req: PacketRequest, tried: readonly string[]): Promise<Reply> {
    const id = req.packet_id!;
    const elsewhere = await this.#findElsewhere(id, tried);
    if (elsewhere) {
      this.window.update(id, elsewhere);
      return this.#duplicate(id, elsewhere, false);
    }
    return this.#accept(req);
  }

  #accept(req: PacketRequest): Reply {
    const now = this.now();
    this.queue.add(now, req.processing_load);
    this.counters.accepted++;
    this.host.log.debug({ packet_id: req.packet_id, device_id: req.device_id, units: req.processing_load }, "packet accepted");
    return {
      status: 200,
      body: { status: "accepted", handled_by: this.opts.selfHttp, packet_id: req.packet_id, load_ratio: round(this.queue.backlog(now) / this.opts.capacity, 4) },
    };
  }

  /**
   * Did an earlier attempt of this packet land somewhere? Ask the nodes it was tried at; if any
   * of them cannot answer (crashed), a forward it made may live on any node, so ask them all.
   * A node that crashed took its queue with it: taking the packet again is then not a duplicate
   * but the only way it gets done.
   */
  async #findElsewhere(id: string, tried: readonly string[]): Promise<string | undefined> {
    const self = this.opts.selfHttp;
    const alive = new Set(this.host.members().filter((m) => m.state === "alive" || m.state === "suspect").map((m) => m.info.http));
    const ask = [...new Set(tried)].filter((a) => a !== self && alive.has(a));
    let unknown = tried.some((a) => a !== self && !alive.has(a));
    const first = await Promise.all(ask.map((a) => claimAt(a, id, self, this.opts.claimTimeoutMs)));
    for (const r of first) if (r.kind === "seen") return r.handledBy;
    unknown ||= first.some((r) => r.kind === "unreachable");
    if (!unknown) return undefined;
    const rest = [...alive].filter((a) => a !== self && !ask.includes(a));
    const second = await Promise.all(rest.map((a) => claimAt(a, id, self, this.opts.claimTimeoutMs)));
    for (const r of second) if (r.kind === "seen") return r.handledBy;
    return undefined;
  }

  #duplicate(id: string, handledBy: string, local = true): Reply {
    if (local && this.#pending.has(id)) {
      // The first copy is still being forwarded; its outcome is not known yet.
      return { status: 503, body: { error: "packet in progress, retry", packet_id: id }, headers: { "retry-after": "1" } };
    }
    this.counters.duplicates++;
    return { status: 200, body: { status: "accepted", duplicate: true, handled_by: handledBy, packet_id: id } };
  }

  #reject(id: string | undefined, retryAfterS: number): Reply {
    if (id !== undefined) this.window.forget(id);
    this.counters.rejected++;
    return { status: 503, body: { error: "all nodes are saturated, retry later", retry_after_s: retryAfterS }, headers: { "retry-after": String(retryAfterS) } };
  }
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
