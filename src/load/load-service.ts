/**
 * One node's share of the work and the request path: accept, forward once, or refuse with 503.
 * The decisions live in pure modules (router, balancer, publish-policy, the duplicate check's
 * verdict); the parts with their own job live beside it (stall-detector, load-publisher,
 * duplicate-check, counters). Other nodes are reached only through the injected PeerClient.
 */
import type { Logger } from "../log/logger.ts";
import type { Member } from "../membership/types.ts";
import type { Candidate } from "./balancer.ts";
import { type LoadCounters, loadStats, round, zeroCounters } from "./counters.ts";
import { type Executor, synthetic } from "./executor.ts";
import { type PacketStatus, Outcomes } from "./outcomes.ts";
import { type Finished, PacketQueue, realClock } from "./packet-queue.ts";
import { type AskReply, answerAsk, describeAnswers, type Found, findElsewhere, type Verdict } from "./duplicate-check.ts";
import { IdempotencyWindow } from "./idempotency.ts";
import { PacketLookup } from "./packet-lookup.ts";
import { Pacer } from "./pacer.ts";
import { LoadPublisher } from "./load-publisher.ts";
import { PeerLoads } from "./peer-loads.ts";
import type { PeerClient } from "./peer-protocol.ts";
import type { PacketRequest } from "./request-body.ts";
import { type RoutePolicy, route } from "./router.ts";
import { StallDetector } from "./stall-detector.ts";
import { intervalTicker, type Ticker } from "./ticker.ts";

export type { LoadCounters } from "./counters.ts";

export interface LoadOptions {
  readonly selfId: string;
  /** "ip:port" of this node's HTTP API. */
  readonly selfHttp: string;
  readonly capacity: number;
  readonly policy: RoutePolicy;
  readonly forwardTimeoutMs: number;
  readonly askTimeoutMs: number;
  readonly windowTtlMs: number;
  readonly windowMaxEntries: number;
  /** How often to consider publishing the backlog (the probe interval). */
  readonly publishEveryMs: number;
  /** Publish when peers' estimate is off by more than this many seconds of work. */
  readonly publishThresholdS: number;
  /** What runs each packet (default: the synthetic handler). */
  readonly executor?: Executor;
  /** Per-packet limit for a user handler (milliseconds). */
  readonly handlerTimeoutMs?: number;
}

/** What the service needs from the running node. */
export interface LoadHost {
  members(): readonly Readonly<Member>[];
  publish(backlog: number): void;
  /** How to reach other nodes (peer-client.ts over HTTP; a fake in tests). */
  readonly peerClient: PeerClient;
  readonly log: Logger;
  /** Told about every answered packet request (metrics). */
  answered?(status: number, body: Record<string, unknown>, seconds: number, deviceId?: string): void;
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Clock, randomness and timers; the defaults are the real ones. */
export interface LoadEnv {
  now?: () => number;
  random?: () => number;
  ticker?: Ticker;
  /** Timers of the packet queue (the synthetic handler's finishing times). */
  setTimer?: (ms: number, fn: () => void) => () => void;
}

export class LoadService {
  readonly queue: PacketQueue;
  readonly outcomes: Outcomes;
  readonly window: IdempotencyWindow;
  readonly lookup: PacketLookup;
  readonly peers = new PeerLoads();
  readonly counters: LoadCounters = zeroCounters();
  readonly #stall: StallDetector;
  readonly #pacer: Pacer;
  readonly #publisher: LoadPublisher;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Ids for packets that come without one: unique per process run. */
  readonly #boot = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, "0");
  #seq = 0;

  constructor(
    readonly opts: LoadOptions,
    private readonly host: LoadHost,
    env: LoadEnv = {},
  ) {
    this.now = env.now ?? (() => performance.now());
    this.random = env.random ?? Math.random;
    const ticker = env.ticker ?? intervalTicker;
    this.outcomes = new Outcomes(opts.selfHttp);
    this.queue = new PacketQueue(
      opts.executor ?? synthetic,
      opts.capacity,
      { node: opts.selfHttp, timeout_ms: opts.handlerTimeoutMs ?? 30_000 },
      (f) => this.#finished(f),
      { now: this.now, setTimer: env.setTimer ?? realClock.setTimer },
    );
    this.window = new IdempotencyWindow(opts.windowTtlMs, opts.windowMaxEntries);
    this.lookup = new PacketLookup({
      self: opts.selfHttp,
      client: host.peerClient,
      timeoutMs: opts.askTimeoutMs,
      members: () => host.members(),
      local: (id, waitS) => this.awaitLocal(id, waitS),
      holder: (id) => this.#holder(id),
    });
    const { policy } = opts;
    this.#pacer = new Pacer(policy.paceAbove ?? Math.max(policy.forwardAbove, policy.maxBacklog / 5), policy.maxBacklog);
    this.#stall = new StallDetector(this.now, ticker);
    this.#publisher = new LoadPublisher(
      {
        selfId: opts.selfId,
        capacity: opts.capacity,
        everyMs: opts.publishEveryMs,
        thresholdS: opts.publishThresholdS,
        queue: this.queue,
        peers: this.peers,
        counters: this.counters,
        members: () => host.members(),
        publish: (backlog) => host.publish(backlog),
        now: this.now,
      },
      ticker,
    );
  }

  start(): void {
    this.#publisher.start();
    this.#stall.start();
  }

  stop(): void {
    this.#publisher.stop();
    this.#stall.stop();
  }

  /** Stop and release the handler (Workers). */
  async close(): Promise<void> {
    this.stop();
    await this.queue.close();
  }

  /** Periodic (also run by start()'s timer): refresh peer estimates and publish our backlog if due. */
  tick(): void {
    this.#publisher.tick();
  }

  /**
   * The request path. `hop` counts the nodes the packet passed through before this one.
   * Synchronous when the packet is simply taken here (the common case, kept cheap); a promise
   * when other nodes must be asked or a forward made.
   */
  handle(req: PacketRequest, hop: number): Reply | Promise<Reply> {
    const id = req.packet_id;
    const now = this.now();
    if (id === undefined) return this.#route(req, hop, now);
    const prior = this.window.begin(now, id, this.opts.selfHttp);
    if (prior?.state === "done") return this.#duplicate(id, prior.handledBy);
    if (prior?.state === "pending") return this.#inProgress(id);
    // Nodes that asked about this id had a retry of it: check with them before taking it.
    const tried = prior?.askers ? [...(req.tried ?? []), ...prior.askers] : req.tried;
    if (this.#stall.check(now)) return this.#checkFirst({ ...req, tried }, hop);
    return this.#route(tried === req.tried ? req : { ...req, tried }, hop, now);
  }

  /** Another node asks whether we have seen `id`; see duplicate-check.ts. */
  answerAsk(id: string, asker: string): AskReply {
    this.counters.asks_served++;
    return answerAsk(this.window, this.now(), id, asker);
  }

  /** Report an answered request (status and body as sent, time taken) to whoever listens. */
  answered(r: Reply, seconds: number, deviceId?: string): void {
    this.host.answered?.(r.status, r.body, seconds, deviceId);
  }

  /** Units queued right now (seconds of work × promised capacity). */
  backlog(): number {
    return this.queue.backlog(this.now());
  }

  /** What this node knows of packet `id`: queued or running here, or its outcome here. */
  localStatus(id: string): PacketStatus | undefined {
    const now = this.now();
    const q = this.queue.state(id, now);
    if (q) return { packet_id: id, state: q.state, handled_by: this.opts.selfHttp };
    return this.outcomes.get(id, now);
  }

  /** The local status of `id`, once it has finished or after `seconds`, whichever comes first. */
  async awaitLocal(id: string, seconds: number): Promise<PacketStatus | undefined> {
    const s = this.localStatus(id);
    if (!s || s.state === "done" || s.state === "failed" || seconds <= 0) return s;
    return this.outcomes.wait(id, seconds * 1000, () => this.localStatus(id) ?? s);
  }

  countBadRequest(): void {
    this.counters.bad_requests++;
  }

  /** A 200 for a packet, completed with its outcome once known (or its state after `waitS`). */
  async withOutcome(r: Reply, waitS: number): Promise<Reply> {
    const id = r.body.packet_id;
    const at = r.body.handled_by;
    if (r.status !== 200 || typeof id !== "string" || typeof at !== "string") return r;
    const s = await this.lookup.at(at, id, waitS);
    if (!s) return r;
    const { packet_id: _, handled_by: __, ...outcome } = s;
    return { ...r, body: { ...r.body, ...outcome } };
  }

  /** Where this node knows packet `id` went (it forwarded it there). */
  #holder(id: string): string | undefined {
    const r = this.window.get(this.now(), id);
    return r?.state === "done" ? r.handledBy : undefined;
  }

  stats(): Record<string, number | string> {
    return loadStats(this.queue, this.window, this.outcomes, this.counters, this.now());
  }

  #finished(f: Finished): void {
    this.outcomes.finished(f, this.now());
  }

  /** Just after a stall: ask every node about the packet first, then route it as usual. */
  async #checkFirst(req: PacketRequest, hop: number): Promise<Reply> {
    const id = req.packet_id!;
    const found = await this.#findElsewhere(id, req.tried ?? [], true);
    if (found.kind !== "none") return this.#settleFound(id, found, req.tried);
    return this.#route({ ...req, tried: undefined }, hop, this.now());
  }

  #route(req: PacketRequest, hop: number, now: number): Reply | Promise<Reply> {
    const seconds = this.queue.seconds(now);
    const capacity = this.queue.capacity();
    this.#pacer.observe(req.device_id ?? "", req.processing_load, now);
    const refused = this.#unfair(req, now, seconds, capacity);
    if (refused) return refused;
    const decision = route({
      hop,
      ownRatio: seconds + req.processing_load / capacity,
      peers: () => this.peers.candidates(this.host.members(), this.opts.selfId),
      policy: this.opts.policy,
      random: this.random,
    });
    if (decision.kind === "reject") return this.#reject(req.packet_id, decision.retryAfterS, undefined, 0, req.device_id);
    if (decision.kind === "forward") return this.#forward(req, hop, decision.targets);
    return req.packet_id !== undefined && req.tried?.length ? this.#checkThenAccept(req, req.tried) : this.#accept(req);
  }

  /**
   * A device that ignores pacing: back here before the time this node gave it, or holding more
   * than its share of this busy node's queue. Refused before anything else (a forward included).
   */
  #unfair(req: PacketRequest, now: number, seconds: number, capacity: number): Reply | undefined {
    const device = req.device_id ?? "";
    const early = this.#pacer.early(device, now);
    const share = early > 0 || this.#pacer.fair(this.queue.deviceUnits(device), this.queue.devices, seconds, capacity);
    if (early === 0 && share) return undefined;
    this.counters.unfair++;
    const why = early > 0 ? "this device was asked to wait, retry later" : "this device has more than its share of the queue, retry later";
    return this.#reject(req.packet_id, 0, why, early, req.device_id);
  }

  /** Milliseconds until this device should send again (0: not congested); see pacer.ts. */
  #pace(now: number, device?: string): number {
    const capacity = this.queue.capacity();
    const seconds = this.queue.seconds(now);
    return this.#pacer.pace({ now, seconds, capacity, cluster: () => this.#cluster(seconds, capacity) }, device);
  }

  /** The cluster's queued work over its capacity (when it will have drained), and its capacity. */
  #cluster(seconds: number, capacity: number): { seconds: number; capacity: number } {
    let work = seconds * capacity;
    let total = capacity;
    for (const p of this.peers.candidates(this.host.members(), this.opts.selfId)) {
      work += p.ratio * p.capacity;
      total += p.capacity;
    }
    return { seconds: work / total, capacity: total };
  }

  /** Forward: one hop only; unclear outcomes go along so the taker can check them. */
  async #forward(req: PacketRequest, hop: number, targets: readonly Candidate[]): Promise<Reply> {
    const id = req.packet_id;
    const units = req.processing_load;
    const unclear = [...(req.tried ?? [])];
    // The device's wait is served here (withOutcome), not by the peer: the forward stays quick.
    const { wait: _, ...packet } = req;
    for (const t of targets) {
      const body: PacketRequest = { ...packet, tried: id !== undefined && unclear.length > 0 ? unclear.slice(-8) : undefined };
      const out = await this.host.peerClient.forward(t.http, body, hop + 1, this.opts.forwardTimeoutMs);
      if (out.kind === "accepted") {
        const by = out.reply.handled_by;
        if (id !== undefined) this.window.settle(id, by);
        if (out.reply.duplicate) {
          this.counters.duplicates++;
        } else {
          this.counters.forwarded++;
          this.peers.sent(t.id, units);
        }
        const pace = typeof out.reply.pace_ms === "number" ? { pace_ms: out.reply.pace_ms } : {};
        return {
          status: 200,
          body: { status: "accepted", handled_by: by, redirected: by, packet_id: out.reply.packet_id ?? id, ...(out.reply.duplicate ? { duplicate: true } : {}), ...pace },
        };
      }
      this.counters.forward_failures++;
      this.host.log.debug({ peer: t.http, reason: out.reason, packet_id: id }, "forward failed");
      if (out.kind === "unclear") unclear.push(t.http);
    }
    if (this.queue.seconds(this.now()) + units / this.queue.capacity() > this.opts.policy.maxBacklog) return this.#reject(id, 1, undefined, 0, req.device_id);
    return id !== undefined && unclear.length > 0 ? this.#checkThenAccept(req, unclear) : this.#accept(req);
  }

  /** Before taking a retried packet, make sure no node it was tried at already has it. */
  async #checkThenAccept(req: PacketRequest, tried: readonly string[]): Promise<Reply> {
    const id = req.packet_id!;
    const found = await this.#findElsewhere(id, tried);
    return found.kind === "none" ? this.#accept(req) : this.#settleFound(id, found, tried);
  }

  async #findElsewhere(id: string, tried: readonly string[], everyone = false): Promise<Verdict> {
    const ctx = { self: this.opts.selfHttp, members: this.host.members(), client: this.host.peerClient, askTimeoutMs: this.opts.askTimeoutMs };
    const { verdict, answers } = await findElsewhere(ctx, id, tried, everyone);
    if (answers.length > 0) this.host.log.debug({ packet_id: id, answers: describeAnswers(answers), verdict: verdict.kind }, "packet checked");
    return verdict;
  }

  #accept(req: PacketRequest): Reply {
    const now = this.now();
    const id = req.packet_id ?? `${this.#boot}-${(++this.#seq).toString(36)}`;
    this.queue.add({ id, units: req.processing_load, deviceId: req.device_id, payload: req.payload }, now);
    this.counters.accepted++;
    if (req.packet_id !== undefined) this.window.settle(req.packet_id, this.opts.selfHttp);
    this.host.log.debug({ packet_id: id, device_id: req.device_id, units: req.processing_load }, "packet accepted");
    const pace = this.#pace(now, req.device_id);
    return {
      status: 200,
      body: {
        status: "accepted",
        handled_by: this.opts.selfHttp,
        packet_id: id,
        load_ratio: round(this.queue.seconds(now), 4),
        ...(pace > 0 ? { pace_ms: pace } : {}),
      },
    };
  }

  /** Another node has the packet, is handling it, or may have it: answer without taking it. */
  #settleFound(id: string, found: Found, tried: readonly string[] = []): Reply {
    if (found.kind === "found") {
      this.window.settle(id, found.at);
      return this.#duplicate(id, found.at);
    }
    // Step back without an outcome; a retry here checks again with the nodes that may have it.
    this.window.release(
      this.now(),
      id,
      [...found.maybeAt, ...tried].filter((a) => a !== this.opts.selfHttp),
    );
    if (found.kind === "unknown") this.counters.unanswered_checks++;
    return this.#inProgress(id);
  }

  #duplicate(id: string, handledBy: string): Reply {
    this.counters.duplicates++;
    return { status: 200, body: { status: "accepted", duplicate: true, handled_by: handledBy, packet_id: id } };
  }

  /** A copy of this packet is being handled right now (here or elsewhere): ask to retry shortly. */
  #inProgress(id: string): Reply {
    this.counters.in_progress++;
    return { status: 503, body: { error: "packet in progress, retry", packet_id: id }, headers: { "retry-after": "1" } };
  }

  /** Not taken: come back at this device's slot (or `retryAfterS`, whichever is later). */
  #reject(id: string | undefined, retryAfterS: number, error = "all nodes are saturated, retry later", waitMs = 0, device?: string): Reply {
    if (id !== undefined) this.window.forget(id);
    this.counters.rejected++;
    const ms = Math.max(retryAfterS * 1000, waitMs || this.#pace(this.now(), device));
    const s = Math.max(1, Math.ceil(ms / 1000));
    return {
      status: 503,
      body: { error, retry_after_s: s, retry_after_ms: ms, pace_ms: ms },
      headers: { "retry-after": String(s) },
    };
  }
}
