import type { MemberEvent } from "../membership/types.ts";
import { Admission } from "./admission.ts";
import { Backups } from "./backups.ts";
import type { Candidate } from "./balancer.ts";
import { type LoadCounters, loadStats, round, zeroCounters } from "./counters.ts";
import { type AskReply, answerAsk, describeAnswers, type Found, findElsewhere, type Verdict } from "./duplicate-check.ts";
import { synthetic } from "./executor.ts";
import { IdempotencyWindow } from "./idempotency.ts";
import type { LoadEnv, LoadHost, LoadOptions, Reply } from "./load-options.ts";
import { LoadPublisher } from "./load-publisher.ts";
import { Outcomes } from "./outcomes.ts";
import { PacketLookup } from "./packet-lookup.ts";
import { type Finished, PacketQueue, realClock } from "./packet-queue.ts";
import { PeerLoads } from "./peer-loads.ts";
import type { ReplicaBatch } from "./peer-protocol.ts";
import type { HeldPacket } from "./replica-store.ts";
import type { PacketRequest } from "./request-body.ts";
import { route } from "./router.ts";
import { StallDetector } from "./stall-detector.ts";
import { runOrphans } from "./takeover.ts";
import { intervalTicker, type Ticker } from "./ticker.ts";

export type { LoadCounters } from "./counters.ts";
export type { LoadEnv, LoadHost, LoadOptions, Reply } from "./load-options.ts";

export class LoadService {
  readonly queue: PacketQueue;
  readonly outcomes: Outcomes;
  readonly window: IdempotencyWindow;
  readonly lookup: PacketLookup;
  readonly backups: Backups;
  readonly peers: PeerLoads;
  readonly counters: LoadCounters = zeroCounters();
  readonly #stall: StallDetector;
  readonly admission: Admission;
  readonly #ticker: Ticker;
  #stopTicker: (() => void) | undefined;
  readonly #publisher: LoadPublisher;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Ids for packets that come without one: unique per process run. */
  readonly #boot = Math.floor(Math.random() * 36 ** 6)
    .toString(36)
    .padStart(6, "0");
  #seq = 0;
  /**
   * Units accepted but not queued yet (waiting for their backup's acknowledgement): counted by
   * routing, or a burst would all see an empty queue and be taken far beyond --max-backlog.
   */
  #reserved = 0;

  constructor(
    readonly opts: LoadOptions,
    private readonly host: LoadHost,
    env: LoadEnv = {},
  ) {
    this.now = env.now ?? (() => performance.now());
    this.peers = new PeerLoads(opts.preferTags, this.now);
    this.random = env.random ?? Math.random;
    const ticker = env.ticker ?? intervalTicker;
    this.#ticker = ticker;
    this.outcomes = new Outcomes(opts.selfHttp);
    this.queue = new PacketQueue(
      opts.executor ?? synthetic,
      opts.capacity,
      { node: opts.selfHttp, timeout_ms: opts.handlerTimeoutMs ?? 30_000 },
      (f) => this.#finished(f),
      { now: this.now, setTimer: env.setTimer ?? realClock.setTimer },
    );
    this.window = new IdempotencyWindow(opts.windowTtlMs, opts.windowMaxEntries);
    this.backups = new Backups({
      selfId: opts.selfId,
      selfHttp: opts.selfHttp,
      boot: this.#boot,
      client: host.peerClient,
      timeoutMs: opts.forwardTimeoutMs,
      log: host.log,
      members: () => host.members(),
      maxPackets: opts.backupMaxPackets ?? 1_000_000,
      maxBytes: opts.backupMaxBytes ?? 256 * 1024 * 1024,
      run: (packets, from) =>
        runOrphans(
          {
            self: opts.selfHttp,
            now: this.now,
            queue: this.queue,
            outcomes: this.outcomes,
            window: this.window,
            keep: (h) => void this.backups.replicator.keep(h),
            check: (id, askers) => this.#findElsewhere(id, askers),
          },
          packets,
          from,
        ),
    });
    this.lookup = new PacketLookup({
      self: opts.selfHttp,
      client: host.peerClient,
      timeoutMs: opts.askTimeoutMs,
      queue: this.queue,
      outcomes: this.outcomes,
      members: () => host.members(),
      now: this.now,
      // Where this node knows the packet went: forwarded there, or it holds the owner's copy.
      holder: (id) => {
        const r = this.window.get(this.now(), id);
        return r?.state === "done" ? r.handledBy : this.backups.store.ownerOf(id);
      },
    });
    this.admission = new Admission(opts.policy, this.queue, () => this.peers.candidates(host.members(), opts.selfId));
    this.#stall = new StallDetector(this.now, opts.publishEveryMs);
    this.#publisher = new LoadPublisher({
      selfId: opts.selfId,
      capacity: opts.capacity,
      thresholdS: opts.publishThresholdS,
      queue: this.queue,
      peers: this.peers,
      counters: this.counters,
      members: () => host.members(),
      publish: (backlog) => host.publish(backlog),
      now: this.now,
    });
  }

  /** One timer for all the periodic work (publishing, backups, the stall detector's beat). */
  start(): void {
    this.#stall.start();
    this.#stopTicker ??= this.#ticker(this.opts.publishEveryMs, () => this.tick());
  }

  stop(): void {
    this.#stall.stop();
    this.#stopTicker?.();
    this.#stopTicker = undefined;
  }

  /** Stop and release the handler (Workers). */
  async close(): Promise<void> {
    this.stop();
    this.outcomes.close((id) => this.lookup.local(id));
    await this.queue.close();
  }

  /** Periodic (run by start()'s timer): refresh peer estimates, publish our backlog if due, hand off backups. */
  tick(): void {
    this.#stall.beat(this.now());
    this.#publisher.tick();
    this.backups.tick();
  }

  /** Membership changed: a dead or departed node's packets we keep run here; our copies move. */
  memberChanged(e: MemberEvent): void {
    this.backups.memberChanged(e);
  }

  /** A batch of packets handed to us as a backup (POST /packets/replica). */
  receiveReplicas(b: ReplicaBatch) {
    return this.backups.receive(b);
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
    // We keep a copy for its owner (its backup): the owner has it, and should it die, we run it.
    const owner = this.backups.store.ownerOf(id);
    if (owner !== undefined) {
      this.window.settle(id, owner);
      return this.#duplicate(id, owner);
    }
    // Nodes that asked about this id had a retry of it: check with them before taking it.
    const tried = prior?.askers ? [...(req.tried ?? []), ...prior.askers] : req.tried;
    if (this.#stall.check(now)) return this.#checkFirst({ ...req, tried }, hop);
    return this.#route(tried === req.tried ? req : { ...req, tried }, hop, now);
  }

  /** Another node asks whether we have seen `id`; see duplicate-check.ts. */
  answerAsk(id: string, asker: string): AskReply {
    this.counters.asks_served++;
    return answerAsk(this.window, this.now(), id, asker, this.backups.store.ownerOf(id));
  }

  /** Report an answered request (status and body as sent, time taken) to whoever listens. */
  answered(r: Reply, seconds: number, deviceId?: string): void {
    this.host.answered?.(r.status, r.body, seconds, deviceId);
  }

  /** Units queued right now (seconds of work × promised capacity). */
  backlog(): number {
    return this.queue.backlog(this.now());
  }

  countBadRequest(): void {
    this.counters.bad_requests++;
  }

  stats(): Record<string, number | string> {
    return {
      ...loadStats(this.queue, this.window, this.outcomes, this.counters, this.now()),
      ...this.backups.stats(),
      backlog_claims_floored: this.peers.floored,
    };
  }

  #finished(f: Finished): void {
    // Synthetic results are {units}: no need to measure them.
    this.outcomes.finished(f, this.now(), this.queue.executor.kind === "timed" ? 16 : undefined);
    this.backups.replicator.done(f.packet.id);
  }

  /** Just after a stall: ask every node about the packet first, then route it as usual. */
  async #checkFirst(req: PacketRequest, hop: number): Promise<Reply> {
    const id = req.packet_id!;
    const found = await this.#findElsewhere(id, req.tried ?? [], true);
    if (found.kind !== "none") return this.#settleFound(id, found, req.tried);
    return this.#route({ ...req, tried: undefined }, hop, this.now());
  }

  #route(req: PacketRequest, hop: number, now: number): Reply | Promise<Reply> {
    this.admission.observe(req.device_id, req.processing_load, now);
    const refused = this.admission.refusal(req.device_id, now);
    if (refused) {
      this.counters.unfair++;
      return this.#reject(req.packet_id, 0, refused.error, refused.waitMs, req.device_id);
    }
    const capacity = this.queue.capacity();
    const seconds = this.queue.seconds(now) + this.#reserved / capacity;
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
          body: {
            status: "accepted",
            handled_by: by,
            redirected: by,
            packet_id: out.reply.packet_id ?? id,
            ...(out.reply.duplicate ? { duplicate: true } : {}),
            ...pace,
          },
        };
      }
      this.counters.forward_failures++;
      this.host.log.debug({ peer: t.http, reason: out.reason, packet_id: id }, "forward failed");
      if (out.kind === "unclear") unclear.push(t.http);
    }
    if (this.queue.seconds(this.now()) + (this.#reserved + units) / this.queue.capacity() > this.opts.policy.maxBacklog)
      return this.#reject(id, 1, undefined, 0, req.device_id);
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

  /**
   * Take the packet: hand it to a backup first (replicator.ts), then queue it and acknowledge.
   * A lone node (no other alive member) keeps it by itself; if no backup would keep it, it is
   * not taken (503), so a 200 always means two nodes hold it.
   */
  #accept(req: PacketRequest): Reply | Promise<Reply> {
    const id = req.packet_id ?? `${this.#boot}-${(++this.#seq).toString(36)}`;
    const held: HeldPacket = {
      id,
      units: req.processing_load,
      ...(req.device_id !== undefined ? { device_id: req.device_id } : {}),
      ...(req.payload !== undefined ? { payload: req.payload } : {}),
    };
    const kept = this.backups.replicator.keep(held);
    if (kept === "alone") return this.#take(req, id);
    this.#reserved += held.units;
    return kept.then((ok) => {
      this.#reserved -= held.units;
      return ok ? this.#take(req, id) : this.#notKept(req);
    });
  }

  #take(req: PacketRequest, id: string): Reply {
    const now = this.now();
    this.queue.add({ id, units: req.processing_load, deviceId: req.device_id, payload: req.payload }, now);
    this.counters.accepted++;
    if (req.packet_id !== undefined) this.window.settle(req.packet_id, this.opts.selfHttp);
    this.host.log.debug({ packet_id: id, device_id: req.device_id, units: req.processing_load }, "packet accepted");
    const pace = this.admission.pace(now, req.device_id);
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

  /** No backup would keep it: not taken, the device retries. */
  #notKept(req: PacketRequest): Reply {
    if (req.packet_id !== undefined) this.window.forget(req.packet_id);
    this.counters.not_kept++;
    // The ring may have moved already (a backup just died): soon is fine.
    return {
      status: 503,
      body: { error: "no backup node could keep the packet, retry", retry_after_s: 1, retry_after_ms: 200 },
      headers: { "retry-after": "1" },
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
    // The outcome is usually known within a round trip or two: the body says when, precisely.
    return { status: 503, body: { error: "packet in progress, retry", packet_id: id, retry_after_ms: 200 }, headers: { "retry-after": "1" } };
  }

  /** Not taken: come back at this device's slot (or `retryAfterS`, whichever is later). */
  #reject(id: string | undefined, retryAfterS: number, error = "all nodes are saturated, retry later", waitMs = 0, device?: string): Reply {
    if (id !== undefined) this.window.forget(id);
    this.counters.rejected++;
    const ms = Math.max(retryAfterS * 1000, waitMs || this.admission.pace(this.now(), device));
    const s = Math.max(1, Math.ceil(ms / 1000));
    return {
      status: 503,
      body: { error, retry_after_s: s, retry_after_ms: ms, pace_ms: ms },
      headers: { "retry-after": String(s) },
    };
  }
}
