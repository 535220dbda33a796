/**
 * One node's share of the work: its queue, its idempotency window, its picture of the peers,
 * and the request path that ties them together (accept, forward once, or refuse with 503).
 * The decisions live in pure modules (router, balancer, publish-policy); this class does the I/O.
 */
import type { Logger } from "../log/logger.ts";
import type { Member } from "../membership/types.ts";
import type { Candidate } from "./balancer.ts";
import { IdempotencyWindow } from "./idempotency.ts";
import { type AskOutcome, askPeer, forwardPacket } from "./peer-client.ts";
import { PeerLoads } from "./peer-loads.ts";
import { type Published, shouldPublish } from "./publish-policy.ts";
import type { PacketRequest } from "./request-body.ts";
import { route, type RoutePolicy } from "./router.ts";
import { WorkQueue } from "./work-queue.ts";

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
  asks_served: number;
  /** 503s because a copy of the packet was being handled at that moment. */
  in_progress: number;
  /** 503s because a live node that may have the packet did not answer in time (frozen or slow). */
  unanswered_checks: number;
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
    asks_served: 0,
    in_progress: 0,
    unanswered_checks: 0,
    load_published: 0,
  };
  #published: Published | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #heart: ReturnType<typeof setInterval> | undefined;
  /** Last heartbeat of this process's event loop, and until when to double-check packets after a stall. */
  #lastBeat = Number.NEGATIVE_INFINITY;
  #recheckUntil = Number.NEGATIVE_INFINITY;

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
    this.#lastBeat = this.now();
    this.#heart ??= setInterval(() => this.#stalled(this.now()), BEAT_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    clearInterval(this.#heart);
    this.#timer = this.#heart = undefined;
  }

  /**
   * Was this process frozen (SIGSTOP, VM pause, a long GC)? Requests that waited in the socket
   * meanwhile may have been retried on another node by devices that timed out, so for a while
   * after a stall every packet is checked cluster-wide before it is taken. Called by a
   * heartbeat timer and by every request, whichever the event loop runs first after a stall.
   */
  #stalled(now: number): boolean {
    if (this.#heart === undefined) return false;
    const gap = now - this.#lastBeat;
    // A longer freeze queued more requests: check for at least as long as it lasted (bounded).
    if (gap > STALL_MS) this.#recheckUntil = Math.max(this.#recheckUntil, now + Math.min(Math.max(RECHECK_MS, gap), MAX_RECHECK_MS));
    this.#lastBeat = Math.max(this.#lastBeat, now);
    return now < this.#recheckUntil;
  }

  /** Periodic: refresh peer estimates and publish our backlog if peers' picture of it is off. */
  tick(): void {
    const now = this.now();
    this.peers.candidates(this.host.members(), this.opts.selfId);
    const live = new Set(this.host.members().map((m) => m.info.id));
    this.peers.prune((id) => live.has(id));
    const backlog = this.queue.backlog(now);
    if (!shouldPublish(backlog, this.#published, this.opts.publishThresholdS * this.opts.capacity)) return;
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
    if (id === undefined) return this.#route(req, hop, now);
    const prior = this.window.begin(now, id, this.opts.selfHttp);
    if (prior?.state === "done") return this.#duplicate(id, prior.handledBy);
    if (prior?.state === "pending") return this.#inProgress(id);
    // Nodes that asked about this id had a retry of it: check with them before taking it.
    const tried = prior?.askers ? [...(req.tried ?? []), ...prior.askers] : req.tried;
    if (this.#stalled(now)) return this.#checkFirst({ ...req, tried }, hop);
    return this.#route(tried === req.tried ? req : { ...req, tried }, hop, now);
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
      const out = await forwardPacket(t.http, body, hop + 1, this.opts.forwardTimeoutMs);
      if (out.kind === "accepted") {
        const by = out.reply.handled_by;
        if (id !== undefined) this.window.settle(id, by);
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
    if ((this.queue.backlog(this.now()) + units) / this.opts.capacity > this.opts.policy.maxBacklog) return this.#reject(id, 1);
    return id !== undefined && unclear.length > 0 ? this.#checkThenAccept(req, unclear) : this.#accept(req);
  }

  /**
   * Another node asks whether we have seen `id` (a device retried there after trying here).
   * If we know nothing we remember the asker, so a late copy of the original arriving here is
   * checked with it before being taken. Nodes that may have it by what we know (others that
   * asked, or ones we stepped back for, e.g. a forward that went unanswered) go back as
   * `maybe_at`, so the asker checks them too: a forward is invisible to the device's `tried`.
   */
  answerAsk(id: string, asker: string): { seen: boolean; handled_by?: string; pending?: boolean; maybe_at?: string[] } {
    this.counters.asks_served++;
    const now = this.now();
    const before = this.window.get(now, id);
    const maybeAt = before?.state === "asked" ? before.askers!.filter((a) => a !== asker) : [];
    const r = this.window.ask(now, id, asker);
    if (!r) return maybeAt.length > 0 ? { seen: false, maybe_at: maybeAt } : { seen: false };
    return r.state === "pending" ? { seen: true, handled_by: r.handledBy, pending: true } : { seen: true, handled_by: r.handledBy };
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
    const found = await this.#findElsewhere(id, tried);
    return found.kind === "none" ? this.#accept(req) : this.#settleFound(id, found, tried);
  }

  #accept(req: PacketRequest): Reply {
    const now = this.now();
    this.queue.add(now, req.processing_load);
    this.counters.accepted++;
    if (req.packet_id !== undefined) this.window.settle(req.packet_id, this.opts.selfHttp);
    this.host.log.debug({ packet_id: req.packet_id, device_id: req.device_id, units: req.processing_load }, "packet accepted");
    return {
      status: 200,
      body: { status: "accepted", handled_by: this.opts.selfHttp, packet_id: req.packet_id, load_ratio: round(this.queue.backlog(now) / this.opts.capacity, 4) },
    };
  }

  /**
   * Did an earlier attempt of this packet land somewhere? Ask the nodes it was tried at; if any
   * of them cannot answer, a forward it made may live on any node, so ask them all. A node that
   * crashed (refused, or declared dead) took its queue with it: taking the packet again is then
   * not a duplicate but the only way the work gets done. A live node that stays silent, or one
   * still handling it (pending), wins: we step back with a 503 and the device's next retry finds
   * the outcome, so nothing is taken twice.
   */
  async #findElsewhere(id: string, tried: readonly string[], everyone = false): Promise<Found> {
    const self = this.opts.selfHttp;
    const members = this.host.members();
    const known = new Set(members.map((m) => m.info.http));
    const alive = new Set(members.filter((m) => m.state === "alive" || m.state === "suspect").map((m) => m.info.http));
    // Tried members are asked even if declared dead: one frozen past its suspicion timeout still
    // holds its queue. Addresses that are not members are never contacted (they come from devices).
    const ask = [...new Set(tried)].filter((a) => a !== self && known.has(a));
    const askAll = (addrs: readonly string[]) => Promise.all(addrs.map(async (at) => ({ at, r: await askPeer(at, id, self, this.opts.askTimeoutMs) })));
    let answers = await askAll(ask);
    const definite = (f: Found) => f.kind === "found" || f.kind === "in-progress";
    let found = judge(answers, self, alive);
    // A tried node that is gone or silent may have forwarded the packet anywhere: ask everyone.
    const wide = everyone || tried.some((a) => a !== self && !alive.has(a)) || answers.some(({ r }) => r.kind === "gone" || r.kind === "silent");
    if (!definite(found) && wide) {
      answers = [...answers, ...(await askAll([...alive].filter((a) => a !== self && !ask.includes(a))))];
      found = judge(answers, self, alive);
    }
    // Nodes the answers named (`maybe_at`) and not asked yet: once more, no further.
    const hinted = new Set(answers.flatMap(({ r }) => (r.kind === "new" ? (r.maybeAt ?? []) : [])));
    const more = [...hinted].filter((a) => a !== self && known.has(a) && !answers.some(({ at }) => at === a));
    if (!definite(found) && more.length > 0) {
      answers = [...answers, ...(await askAll(more))];
      found = judge(answers, self, alive);
    }
    if (answers.length > 0) this.host.log.debug({ packet_id: id, answers: answers.map(({ at, r }) => `${at}:${r.kind === "seen" ? (r.pending ? "pending" : `done@${r.handledBy}`) : r.kind}`), verdict: found.kind }, "packet checked");
    return found;
  }

  #settleFound(id: string, found: Found, tried: readonly string[] = []): Reply {
    if (found.kind === "in-progress" || found.kind === "unknown") {
      // Step back without an outcome; a retry here checks again with the nodes that may have it.
      this.window.release(this.now(), id, [...found.maybeAt, ...tried].filter((a) => a !== this.opts.selfHttp));
      if (found.kind === "unknown") this.counters.unanswered_checks++;
      return this.#inProgress(id);
    }
    const at = found.kind === "found" ? found.at : this.opts.selfHttp;
    this.window.settle(id, at);
    return this.#duplicate(id, at);
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
    return { status: 503, body: { error: "all nodes are saturated, retry later", retry_after_s: retryAfterS }, headers: { "retry-after": String(retryAfterS) } };
  }
}

/** `unknown`: a live node that may have the packet did not answer, so taking it could take it twice. */
type Found = { kind: "found"; at: string } | { kind: "in-progress" | "unknown"; maybeAt: string[] } | { kind: "none" };
type Answer = { at: string; r: AskOutcome };

/**
 * A definite record elsewhere wins, then one still in progress; our own record echoed back is
 * neither. Silence from a live (alive or suspect) member is not "not seen": it may be frozen or
 * slow with the packet queued, so the verdict is unknown. Silence from a member declared dead
 * counts as gone, so a packet never waits forever on a node that will not come back.
 */
function judge(answers: readonly Answer[], self: string, alive: ReadonlySet<string>): Found {
  for (const { r } of answers) if (r.kind === "seen" && !r.pending && r.handledBy !== self) return { kind: "found", at: r.handledBy };
  const pending = answers.filter(({ r }) => r.kind === "seen" && r.pending && r.handledBy !== self);
  if (pending.length > 0) return { kind: "in-progress", maybeAt: pending.map(({ at }) => at) };
  const silent = answers.filter(({ at, r }) => r.kind === "silent" && alive.has(at));
  if (silent.length > 0) return { kind: "unknown", maybeAt: silent.map(({ at }) => at) };
  return { kind: "none" };
}

/** Heartbeat period; a gap longer than STALL_MS means the process was frozen. */
const BEAT_MS = 100;
const STALL_MS = 250;
/** How long after a stall packets are checked cluster-wide (covers requests queued meanwhile). */
const RECHECK_MS = 2000;
const MAX_RECHECK_MS = 10_000;

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
