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
import { type AskReply, answerAsk, describeAnswers, type Found, findElsewhere, type Verdict } from "./duplicate-check.ts";
import { IdempotencyWindow } from "./idempotency.ts";
import { LoadPublisher } from "./load-publisher.ts";
import { PeerLoads } from "./peer-loads.ts";
import type { PeerClient } from "./peer-protocol.ts";
import type { PacketRequest } from "./request-body.ts";
import { type RoutePolicy, route } from "./router.ts";
import { StallDetector } from "./stall-detector.ts";
import { intervalTicker, type Ticker } from "./ticker.ts";
import { WorkQueue } from "./work-queue.ts";

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
}

export class LoadService {
  readonly queue: WorkQueue;
  readonly window: IdempotencyWindow;
  readonly peers = new PeerLoads();
  readonly counters: LoadCounters = zeroCounters();
  readonly #stall: StallDetector;
  readonly #publisher: LoadPublisher;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly opts: LoadOptions,
    private readonly host: LoadHost,
    env: LoadEnv = {},
  ) {
    this.now = env.now ?? (() => performance.now());
    this.random = env.random ?? Math.random;
    const ticker = env.ticker ?? intervalTicker;
    this.queue = new WorkQueue(opts.capacity, this.now());
    this.window = new IdempotencyWindow(opts.windowTtlMs, opts.windowMaxEntries);
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

  /** Units queued right now. */
  backlog(): number {
    return this.queue.backlog(this.now());
  }

  countBadRequest(): void {
    this.counters.bad_requests++;
  }

  stats(): Record<string, number> {
    return loadStats(this.opts.capacity, this.queue, this.window, this.counters, this.now());
  }

  /** Just after a stall: ask every node about the packet first, then route it as usual. */
  async #checkFirst(req: PacketRequest, hop: number): Promise<Reply> {
    const id = req.packet_id!;
    const found = await this.#findElsewhere(id, req.tried ?? [], true);
    if (found.kind !== "none") return this.#settleFound(id, found, req.tried);
    return this.#route({ ...req, tried: undefined }, hop, this.now());
  }

  #route(req: PacketRequest, hop: number, now: number): Reply | Promise<Reply> {
    const decision = route({
      hop,
      ownRatio: (this.queue.backlog(now) + req.processing_load) / this.opts.capacity,
      peers: () => this.peers.candidates(this.host.members(), this.opts.selfId),
      policy: this.opts.policy,
      random: this.random,
    });
    if (decision.kind === "reject") return this.#reject(req.packet_id, decision.retryAfterS);
    if (decision.kind === "local") return req.packet_id !== undefined && req.tried?.length ? this.#checkThenAccept(req, req.tried) : this.#accept(req);
    return this.#forward(req, hop, decision.targets);
  }

  /** Forward: one hop only; unclear outcomes go along so the taker can check them. */
  async #forward(req: PacketRequest, hop: number, targets: readonly Candidate[]): Promise<Reply> {
    const id = req.packet_id;
    const units = req.processing_load;
    const unclear = [...(req.tried ?? [])];
    for (const t of targets) {
      const body: PacketRequest = { ...req, tried: id !== undefined && unclear.length > 0 ? unclear.slice(-8) : undefined };
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
        return {
          status: 200,
          body: { status: "accepted", handled_by: by, redirected: by, packet_id: id, ...(out.reply.duplicate ? { duplicate: true } : {}) },
        };
      }
      this.counters.forward_failures++;
      this.host.log.debug({ peer: t.http, reason: out.reason, packet_id: id }, "forward failed");
      if (out.kind === "unclear") unclear.push(t.http);
    }
    if ((this.queue.backlog(this.now()) + units) / this.opts.capacity > this.opts.policy.maxBacklog) return this.#reject(id, 1);
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
    this.queue.add(now, req.processing_load);
    this.counters.accepted++;
    if (req.packet_id !== undefined) this.window.settle(req.packet_id, this.opts.selfHttp);
    this.host.log.debug({ packet_id: req.packet_id, device_id: req.device_id, units: req.processing_load }, "packet accepted");
    return {
      status: 200,
      body: {
        status: "accepted",
        handled_by: this.opts.selfHttp,
        packet_id: req.packet_id,
        load_ratio: round(this.queue.backlog(now) / this.opts.capacity, 4),
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

  #reject(id: string | undefined, retryAfterS: number): Reply {
    if (id !== undefined) this.window.forget(id);
    this.counters.rejected++;
    return {
      status: 503,
      body: { error: "all nodes are saturated, retry later", retry_after_s: retryAfterS },
      headers: { "retry-after": String(retryAfterS) },
    };
  }
}
