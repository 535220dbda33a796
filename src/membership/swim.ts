import { Awareness } from "./awareness.ts";
import { BroadcastQueue } from "./broadcast-queue.ts";
import { supersedes } from "./precedence.ts";
import { Suspicion } from "./suspicion.ts";
import { retransmitLimit, suspicionMinMs, syncIntervalFor, type Timing } from "./timing.ts";
import type {
  Address,
  CheckResult,
  Effect,
  Input,
  Member,
  MemberEvent,
  MemberEventType,
  MemberSnapshot,
  MemberState,
  Message,
  NodeId,
  NodeInfo,
  Outbound,
  Output,
  Update,
} from "./types.ts";

export interface SwimConfig {
  readonly self: NodeInfo;
  readonly timing: Timing;
  /** Uniform in [0, 1); seeded in the simulator. */
  readonly random: () => number;
  /** Encoded size of one update in bytes (from the wire codec), for the packet budget. */
  readonly sizeOf: (u: Update) => number;
  /** Start above any incarnation a previous run of this identity may have used. */
  readonly initialIncarnation?: number;
  /** Members already known at start, taken as settled: no events, nothing to re-gossip (simulator warm start). */
  readonly initialMembers?: readonly MemberSnapshot[];
  readonly now: number;
}

/** Bytes reserved for a message's own fields before piggybacked updates. */
const HEADER_BYTES = 64;
/** Independent confirmations that bring a suspicion timeout down to its floor (memberlist: SuspicionMult - 2). */
const SUSPICION_K = 2;
/** A relay sends its nack once this fraction of the probe timeout has passed without an ack. */
const NACK_FRACTION = 0.8;

interface Probe {
  readonly target: NodeId;
  readonly seq: number;
  readonly ackDeadline: number;
  readonly endAt: number;
  indirect: boolean;
  acked: boolean;
  expectedNacks: number;
  nacks: number;
  refusedBySelf: boolean;
  refusedByRelays: number;
}

interface Relay {
  readonly requester: Address;
  readonly requesterSeq: number;
  readonly target: NodeId;
  readonly nackAt: number;
  nacked: boolean;
}

/** Protocol counters, for metrics. */
export interface SwimStats {
  probes: number;
  pingReqs: number;
  relayed: number;
  nacksSent: number;
  suspicions: number;
  refutations: number;
  deaths: number;
  messagesIn: number;
  misdirected: number;
  /** Probes that failed over UDP but were answered over HTTP (not suspected). */
  fallbackAcks: number;
}

/**
 * The SWIM + Lifeguard state machine, sans IO: `handle(now, input)` returns the datagrams to
 * send, the effects to perform, the events to report and when to call again.
 */
export class Swim {
  readonly #t: Timing;
  readonly #random: () => number;
  readonly #members = new Map<NodeId, Member>();
  readonly #byGossip = new Map<Address, NodeId>();
  readonly #suspicions = new Map<NodeId, Suspicion>();
  readonly #relays = new Map<number, Relay>();
  readonly #queue: BroadcastQueue;
  readonly #awareness: Awareness;
  readonly #self: Member;
  readonly stats: SwimStats = {
    probes: 0,
    pingReqs: 0,
    relayed: 0,
    nacksSent: 0,
    suspicions: 0,
    refutations: 0,
    deaths: 0,
    messagesIn: 0,
    misdirected: 0,
    fallbackAcks: 0,
  };

  #leaving = false;
  #seq = 0;
  #probe: Probe | undefined;
  #probeOrder: NodeId[] = [];
  #probeIndex = 0;
  #live_: Member[] | undefined;
  /** Dead and left members: reaped after their retention, dead ones retried now and then. */
  readonly #gone = new Set<Member>();
  #nextProbeAt: number;
  #nextGossipAt: number;
  #nextSyncAt: number;
  #nextReconnectAt: number;
  #out: { send: Outbound[]; effects: Effect[]; events: MemberEvent[] } = { send: [], effects: [], events: [] };

  constructor(cfg: SwimConfig) {
    this.#t = cfg.timing;
    this.#random = cfg.random;
    this.#queue = new BroadcastQueue(cfg.sizeOf);
    this.#awareness = new Awareness(cfg.timing.maxAwareness);
    this.#self = { info: cfg.self, state: "alive", incarnation: cfg.initialIncarnation ?? 0, changedAt: cfg.now };
    this.#addMember(this.#self);
    for (const s of cfg.initialMembers ?? []) {
      if (s.info.id !== cfg.self.id) this.#addMember({ info: s.info, state: s.state, incarnation: s.incarnation, changedAt: cfg.now });
    }
    this.#queue.enqueue(this.#aliveUpdate());
    const jitter = () => Math.floor(this.#random() * this.#t.probeIntervalMs);
    this.#nextProbeAt = cfg.now + jitter();
    this.#nextGossipAt = cfg.now;
    this.#nextSyncAt = cfg.now + this.#t.syncIntervalMs + jitter();
    this.#nextReconnectAt = cfg.now + this.#t.reconnectIntervalMs + jitter();
  }

  get self(): NodeInfo {
    return this.#self.info;
  }

  get incarnation(): number {
    return this.#self.incarnation;
  }

  get leaving(): boolean {
    return this.#leaving;
  }

  get healthScore(): number {
    return this.#awareness.score;
  }

  /** Every member we know, this node included. */
  members(): readonly Readonly<Member>[] {
    return [...this.#members.values()];
  }

  member(id: NodeId): Readonly<Member> | undefined {
    return this.#members.get(id);
  }

  /** Full state for anti-entropy. */
  snapshot(): MemberSnapshot[] {
    return [...this.#members.values()].map(toSnapshot);
  }

  /** Members that are alive or suspect, this node included: the cluster size estimate. */
  get liveCount(): number {
    return this.#live().length + 1;
  }

  handle(now: number, input: Input): Output {
    this.#out = { send: [], effects: [], events: [] };
    switch (input.type) {
      case "tick":
        break;
      case "message":
        this.stats.messagesIn++;
        this.#onMessage(now, input.source, input.message);
        break;
      case "http-check":
        this.#onHttpCheck(now, input.target, input.result);
        break;
      case "sync":
        for (const s of input.members) this.#applySnapshot(now, s);
        break;
      case "sync-failed":
        break;
      case "load":
        this.#publishLoad(now, input.backlog);
        break;
      case "leave":
        this.#leave(now);
        break;
    }
    this.#runDue(now);
    const out = this.#out;
    return { send: out.send, effects: out.effects, events: out.events, wakeAt: this.#wakeAt() };
  }

  // ---- timers (held as data, evaluated on every call) ----

  #runDue(now: number): void {
    const p = this.#probe;
    if (p && !p.acked && !p.indirect && now >= p.ackDeadline) this.#startIndirect(p);
    if (p && now >= p.endAt) this.#finishProbe(now, p);
    for (const [seq, r] of this.#relays) {
      if (now < r.nackAt) continue;
      if (!r.nacked) this.#sendNack(r, false);
      this.#relays.delete(seq);
    }
    for (const [id, s] of this.#suspicions) {
      if (now < s.deadline) continue;
      this.#suspicions.delete(id);
      const m = this.#members.get(id);
      if (m && m.state === "suspect" && m.incarnation === s.incarnation) {
        this.#declareDead(now, m, this.#self.info.id, "suspicion timeout");
      }
    }
    if (this.#leaving) return;
    if (now >= this.#nextProbeAt) {
      this.#nextProbeAt = now + this.#awareness.scale(this.#t.probeIntervalMs);
      this.#reap(now);
      this.#startProbe(now);
    }
    if (now >= this.#nextGossipAt && this.#queue.length > 0) {
      this.#nextGossipAt = now + this.#t.gossipIntervalMs;
      this.#gossip(now);
    }
    if (now >= this.#nextSyncAt) {
      this.#nextSyncAt = now + syncIntervalFor(this.#t, this.liveCount);
      const peer = this.#pick(this.#live(), 1)[0];
      if (peer) this.#requestSync(peer);
    }
    if (now >= this.#nextReconnectAt) {
      this.#nextReconnectAt = now + this.#t.reconnectIntervalMs;
      const m = this.#pick([...this.#gone].filter((g) => g.state === "dead"), 1)[0];
      if (m) this.#requestSync(m);
    }
  }

  #wakeAt(): number {
    let w = Number.POSITIVE_INFINITY;
    const p = this.#probe;
    if (p) {
      if (!p.acked && !p.indirect) w = Math.min(w, p.ackDeadline);
      w = Math.min(w, p.endAt);
    }
    for (const r of this.#relays.values()) w = Math.min(w, r.nackAt);
    for (const s of this.#suspicions.values()) w = Math.min(w, s.deadline);
    if (this.#leaving) return w;
    w = Math.min(w, this.#nextProbeAt, this.#nextSyncAt, this.#nextReconnectAt);
    if (this.#queue.length > 0) w = Math.min(w, this.#nextGossipAt);
    return w;
  }

  // ---- probing ----

  #startProbe(now: number): void {
    const target = this.#nextProbeTarget();
    if (!target) return;
    const seq = ++this.#seq;
    this.stats.probes++;
    this.#probe = {
      target: target.info.id,
      seq,
      ackDeadline: now + this.#awareness.scale(this.#t.probeTimeoutMs),
      endAt: now + this.#awareness.scale(this.#t.probeIntervalMs),
      indirect: false,
      acked: false,
      expectedNacks: 0,
      nacks: 0,
      refusedBySelf: false,
      refusedByRelays: 0,
    };
    // Lifeguard's buddy system: a ping to a suspect carries the suspicion, so it can refute (or
    // resend its refutation) in the ack, even if the gossip about it missed one of us.
    const buddy: Update[] = target.state === "suspect" ? [{ kind: "suspect", id: target.info.id, incarnation: target.incarnation, from: this.#self.info.id }] : [];
    this.#send(target.info.gossip, (updates) => ({ type: "ping", seq, from: this.#self.info.id, to: target.info.id, updates: [...buddy, ...updates] }));
  }

  /** Round-robin over a shuffled list, reshuffled each round; dead and left members are skipped. */
  #nextProbeTarget(): Member | undefined {
    for (let tries = 0; tries < 2; tries++) {
      while (this.#probeIndex < this.#probeOrder.length) {
        const id = this.#probeOrder[this.#probeIndex++]!;
        const m = this.#members.get(id);
        if (m && (m.state === "alive" || m.state === "suspect")) return m;
      }
      this.#probeOrder = this.#shuffle(this.#live().map((m) => m.info.id));
      this.#probeIndex = 0;
    }
    return undefined;
  }

  #startIndirect(p: Probe): void {
    p.indirect = true;
    const target = this.#members.get(p.target);
    if (!target) return;
    // memberlist's TCP fallback: an answer over HTTP clears a probe that UDP loss failed.
    this.#out.effects.push({ type: "check-http", target: p.target, http: target.info.http, timeoutMs: Math.floor((p.endAt - p.ackDeadline) * NACK_FRACTION) });
    const relays = this.#pick(this.#live(), this.#t.indirectChecks, p.target);
    p.expectedNacks = relays.length;
    for (const r of relays) {
      this.stats.pingReqs++;
      this.#send(r.info.gossip, (updates) => ({
        type: "ping-req",
        seq: p.seq,
        from: this.#self.info.id,
        target: p.target,
        targetGossip: target.info.gossip,
        targetHttp: target.info.http,
        updates,
      }));
    }
  }

  #finishProbe(now: number, p: Probe): void {
    this.#probe = undefined;
    if (p.acked) return;
    // Lifeguard: missing nacks mean our own network or process is the likely culprit.
    this.#awareness.apply(p.expectedNacks > 0 ? p.expectedNacks - p.nacks : 1);
    const m = this.#members.get(p.target);
    if (m?.state === "alive") this.#suspect(now, m, m.incarnation, this.#self.info.id, "probe timeout");
    // Already suspected by someone else: our failed probe is an independent confirmation.
    else if (m?.state === "suspect") this.#apply(now, { kind: "suspect", id: m.info.id, incarnation: m.incarnation, from: this.#self.info.id });
  }

  #onHttpCheck(now: number, target: NodeId, result: CheckResult): void {
    const p = this.#probe;
    if (p && p.target === target && !p.acked) {
      if (result === "answered") {
        p.acked = true;
        this.stats.fallbackAcks++;
      } else if (result === "refused") {
        p.refusedBySelf = true;
        this.#checkRefusedEvidence(now, p);
      }
    }
    if (result === "silent") return;
    for (const [seq, r] of this.#relays) {
      if (r.target !== target || r.nacked) continue;
      if (result === "refused") this.#sendNack(r, true);
      else {
        // The target answers over HTTP: vouch for it as if its UDP ack had come.
        this.#relays.delete(seq);
        this.#out.send.push({ to: r.requester, message: { type: "ack", seq: r.requesterSeq, from: this.#self.info.id, updates: [] } });
      }
    }
  }

  /**
   * A crashed process on a live host refuses connections. Our own refused check confirmed by
   * a relay's (or ours alone when there is no relay) is strong evidence: skip the suspicion.
   */
  #checkRefusedEvidence(now: number, p: Probe): void {
    if (!p.refusedBySelf || p.acked) return;
    if (p.refusedByRelays < 1 && p.expectedNacks > 0) return;
    const m = this.#members.get(p.target);
    if (!m || (m.state !== "alive" && m.state !== "suspect")) return;
    if (m.state === "alive") this.#suspect(now, m, m.incarnation, this.#self.info.id, "connection refused");
    this.#declareDead(now, m, this.#self.info.id, "connection refused");
    this.#probe = undefined;
  }

  #sendNack(r: Relay, refused: boolean): void {
    r.nacked = true;
    this.stats.nacksSent++;
    this.#out.send.push({ to: r.requester, message: { type: "nack", seq: r.requesterSeq, from: this.#self.info.id, refused } });
  }

  // ---- messages ----

  #onMessage(now: number, source: Address, msg: Message): void {
    switch (msg.type) {
      case "ping":
        this.#applyUpdates(now, msg.updates);
        if (msg.to !== this.#self.info.id) {
          // Meant for an identity that used to live at this address: stay silent so it fails.
          this.stats.misdirected++;
          return;
        }
        this.#send(source, (updates) => ({ type: "ack", seq: msg.seq, from: this.#self.info.id, updates }));
        return;
      case "ack": {
        this.#applyUpdates(now, msg.updates);
        const p = this.#probe;
        if (p && p.seq === msg.seq && !p.acked) {
          p.acked = true;
          this.#awareness.apply(-1);
          return;
        }
        const r = this.#relays.get(msg.seq);
        if (r) {
          this.#relays.delete(msg.seq);
          this.#out.send.push({ to: r.requester, message: { type: "ack", seq: r.requesterSeq, from: this.#self.info.id, updates: [] } });
        }
        return;
      }
      case "ping-req": {
        this.#applyUpdates(now, msg.updates);
        if (this.#leaving) return;
        const seq = ++this.#seq;
        this.stats.relayed++;
        this.#relays.set(seq, {
          requester: source,
          requesterSeq: msg.seq,
          target: msg.target,
          nackAt: now + Math.floor(this.#t.probeTimeoutMs * NACK_FRACTION),
          nacked: false,
        });
        this.#out.send.push({ to: msg.targetGossip, message: { type: "ping", seq, from: this.#self.info.id, to: msg.target, updates: [] } });
        this.#out.effects.push({ type: "check-http", target: msg.target, http: msg.targetHttp, timeoutMs: Math.floor(this.#t.probeTimeoutMs * NACK_FRACTION) });
        return;
      }
      case "nack": {
        const p = this.#probe;
        if (!p || p.seq !== msg.seq) return;
        p.nacks++;
        if (msg.refused) {
          p.refusedByRelays++;
          this.#checkRefusedEvidence(now, p);
        }
        return;
      }
      case "gossip":
        this.#applyUpdates(now, msg.updates);
        return;
    }
  }

  // ---- state changes ----

  #applyUpdates(now: number, updates: readonly Update[]): void {
    for (const u of updates) this.#apply(now, u);
  }

  #apply(now: number, u: Update): void {
    if (u.kind === "load") {
      const m = this.#members.get(u.id);
      if (!m || m === this.#self || (m.load && m.load.version >= u.load.version)) return;
      m.load = u.load;
      m.loadProof = u.proof;
      this.#queue.enqueue(u);
      return;
    }
    const id = u.kind === "alive" ? u.info.id : u.id;
    if (id === this.#self.info.id) {
      this.#aboutSelf(now, u.kind, u.incarnation);
      return;
    }
    const cur = this.#members.get(id);
    if (u.kind === "suspect" && cur?.state === "suspect" && cur.incarnation === u.incarnation) {
      if (this.#suspicions.get(id)?.confirm(u.from)) this.#queue.enqueue(u);
      return;
    }
    if (!supersedes(cur, { state: u.kind, incarnation: u.incarnation })) {
      // Someone still spreads a suspicion the member has refuted: they missed the refutation,
      // so spread it again (epidemic bursts can miss a node under heavy loss).
      if ((u.kind === "suspect" || u.kind === "dead") && cur?.state === "alive" && u.incarnation < cur.incarnation) {
        this.#queue.enqueue({ kind: "alive", incarnation: cur.incarnation, info: cur.info, proof: cur.proof });
      }
      return;
    }
    switch (u.kind) {
      case "alive":
        this.#setAlive(now, u, cur);
        break;
      case "suspect":
        this.#suspect(now, cur!, u.incarnation, u.from);
        break;
      case "dead":
        this.#declareDead(now, cur!, u.from);
        break;
      case "left":
        this.#transition(now, cur!, "left", u.incarnation, "left");
        this.#queue.enqueue(u);
        break;
    }
  }

  /**
   * Anti-entropy merge. A remote `dead` only becomes `suspect` here (memberlist does the same):
   * a full state can be old, and the member gets a chance to refute before it is buried.
   */
  #applySnapshot(now: number, s: MemberSnapshot): void {
    const id = s.info.id;
    if (s.state === "alive") this.#apply(now, { kind: "alive", incarnation: s.incarnation, info: s.info, proof: s.proof });
    else if (s.state === "left") this.#apply(now, { kind: "left", id, incarnation: s.incarnation });
    else if (id === this.#self.info.id || this.#members.has(id)) {
      this.#apply(now, { kind: "suspect", id, incarnation: s.incarnation, from: this.#self.info.id });
    }
    if (s.load) this.#apply(now, { kind: "load", id, load: s.load, proof: s.loadProof });
  }

  /** Someone made a claim about us. Anything but "alive, as we know it" is refuted. */
  #aboutSelf(now: number, kind: MemberState, incarnation: number): void {
    if (this.#leaving) return;
    if (kind === "alive" ? incarnation <= this.#self.incarnation : incarnation < this.#self.incarnation) {
      // A stale suspicion: its sender missed our refutation. Resend it (rides on our next ack).
      if (kind !== "alive") this.#queue.enqueue(this.#aliveUpdate());
      return;
    }
    this.#self.incarnation = incarnation + 1;
    this.#self.changedAt = now;
    this.#self.proof = undefined;
    this.stats.refutations++;
    if (kind !== "alive") this.#awareness.apply(1);
    this.#queue.enqueue(this.#aliveUpdate());
    this.#nextGossipAt = Math.min(this.#nextGossipAt, now);
    this.#event(now, "refuted", this.#self, { reason: `refuted ${kind} at incarnation ${incarnation}` });
  }

  #setAlive(now: number, u: Extract<Update, { kind: "alive" }>, cur: Member | undefined): void {
    const { info, incarnation } = u;
    const holder = this.#byGossip.get(info.gossip);
    if (holder !== undefined && holder !== info.id) {
      // A new identity on an address: only one process can own a UDP port, so the old one is gone.
      const old = this.#members.get(holder);
      if (old) {
        this.#removeMember(old);
        if (old.state === "alive" || old.state === "suspect") this.#event(now, "left", { ...old, state: "left" }, { reason: `replaced by ${info.id}` });
      }
    }
    this.#queue.enqueue(u);
    if (!cur) {
      const m: Member = { info, state: "alive", incarnation, changedAt: now, proof: u.proof };
      this.#addMember(m);
      this.#event(now, "joined", m);
      return;
    }
    const prev = cur.state;
    this.#suspicions.delete(info.id);
    if (cur.info.gossip !== info.gossip) this.#byGossip.delete(cur.info.gossip);
    cur.info = info;
    cur.proof = u.proof;
    this.#byGossip.set(info.gossip, info.id);
    const type: MemberEventType = prev === "alive" ? "updated" : prev === "suspect" ? "alive" : "rejoined";
    this.#transition(now, cur, "alive", incarnation, type);
  }

  #suspect(now: number, m: Member, incarnation: number, from: NodeId, reason?: string): void {
    const n = this.liveCount;
    const min = suspicionMinMs(this.#t, n);
    const k = n - 2 < SUSPICION_K ? 0 : SUSPICION_K;
    this.#suspicions.set(m.info.id, new Suspicion(incarnation, now, min, min * this.#t.suspicionMaxMult, k, from));
    this.stats.suspicions++;
    const u: Update = { kind: "suspect", id: m.info.id, incarnation, from };
    this.#queue.enqueue(u);
    if (from === this.#self.info.id) {
      // Tell the suspect directly so it can refute at once (Lifeguard's "buddy system").
      this.#out.send.push({ to: m.info.gossip, message: { type: "gossip", from, updates: [u] } });
    }
    this.#transition(now, m, "suspect", incarnation, "suspect", { by: from, reason });
  }

  #declareDead(now: number, m: Member, from: NodeId, reason?: string): void {
    this.#suspicions.delete(m.info.id);
    this.stats.deaths++;
    this.#queue.enqueue({ kind: "dead", id: m.info.id, incarnation: m.incarnation, from });
    this.#nextGossipAt = Math.min(this.#nextGossipAt, now);
    if (this.#probe?.target === m.info.id) this.#probe = undefined;
    this.#transition(now, m, "dead", m.incarnation, "dead", { by: from, reason });
  }

  #transition(now: number, m: Member, state: MemberState, incarnation: number, type: MemberEventType, extra?: { by?: NodeId; reason?: string }): void {
    const liveBefore = m.state === "alive" || m.state === "suspect";
    const liveAfter = state === "alive" || state === "suspect";
    if (state !== m.state) m.changedAt = now;
    m.state = state;
    m.incarnation = incarnation;
    if (liveBefore !== liveAfter) this.#live_ = undefined;
    if (state === "dead" || state === "left") this.#gone.add(m);
    else this.#gone.delete(m);
    this.#event(now, type, m, extra);
  }

  #publishLoad(now: number, backlog: number): void {
    // Integer versions (the wire and sync schemas take integers), strictly increasing, and on the
    // millisecond clock so a restarted node's figures still outrank what it published before.
    const load = { version: Math.max(Math.floor(now), (this.#self.load?.version ?? 0) + 1), backlog };
    this.#self.load = load;
    this.#self.loadProof = undefined;
    this.#queue.enqueue({ kind: "load", id: this.#self.info.id, load });
  }

  #leave(now: number): void {
    if (this.#leaving) return;
    this.#leaving = true;
    this.#self.incarnation++;
    this.#self.state = "left";
    this.#self.proof = undefined;
    this.#self.changedAt = now;
    this.#probe = undefined;
    this.#queue.clear();
    const u: Update = { kind: "left", id: this.#self.info.id, incarnation: this.#self.incarnation };
    this.#queue.enqueue(u);
    // Tell everyone directly: a leave should be known at once, not after a few gossip rounds.
    for (const m of this.#live()) this.#out.send.push({ to: m.info.gossip, message: { type: "gossip", from: this.#self.info.id, updates: [u] } });
    this.#event(now, "left", this.#self);
  }

  // ---- dissemination ----

  #gossip(now: number): void {
    let pool = this.#live();
    const recentDead = [...this.#gone].filter((m) => m.state === "dead" && now - m.changedAt < this.#t.gossipToDeadMs);
    if (recentDead.length > 0) pool = [...pool, ...recentDead];
    const targets = this.#pick(pool, this.#t.gossipFanout);
    for (const m of targets) {
      if (this.#queue.length === 0) break;
      this.#send(m.info.gossip, (updates) => ({ type: "gossip", from: this.#self.info.id, updates }), true);
    }
  }

  /** Queue a message with as many piggybacked updates as fit; `needUpdates` skips empty ones. */
  #send(to: Address, make: (updates: Update[]) => Message, needUpdates = false): void {
    const updates = this.#queue.take(this.#t.packetBudget - HEADER_BYTES, retransmitLimit(this.#t, this.liveCount));
    if (needUpdates && updates.length === 0) return;
    this.#out.send.push({ to, message: make(updates) });
  }

  #requestSync(m: Member): void {
    this.#out.effects.push({ type: "sync", target: m.info.id, http: m.info.http, members: this.snapshot() });
  }

  #aliveUpdate(): Update {
    return { kind: "alive", incarnation: this.#self.incarnation, info: this.#self.info };
  }

  // ---- table bookkeeping ----

  #addMember(m: Member): void {
    this.#members.set(m.info.id, m);
    this.#byGossip.set(m.info.gossip, m.info.id);
    this.#live_ = undefined;
  }

  #removeMember(m: Member): void {
    this.#members.delete(m.info.id);
    if (this.#byGossip.get(m.info.gossip) === m.info.id) this.#byGossip.delete(m.info.gossip);
    this.#suspicions.delete(m.info.id);
    this.#gone.delete(m);
    this.#live_ = undefined;
  }

  #reap(now: number): void {
    for (const m of this.#gone) {
      const keep = m.state === "dead" ? this.#t.deadRetentionMs : this.#t.leftRetentionMs;
      if (now - m.changedAt > keep) this.#removeMember(m);
    }
  }

  /** Alive and suspect members other than this node (cached until membership changes). */
  #live(): readonly Member[] {
    if (!this.#live_) {
      this.#live_ = [];
      for (const m of this.#members.values()) {
        if (m !== this.#self && (m.state === "alive" || m.state === "suspect")) this.#live_.push(m);
      }
    }
    return this.#live_;
  }

  /** Up to k distinct random members of `pool`, never `exclude`; O(k) for large pools. */
  #pick(pool: readonly Member[], k: number, exclude?: NodeId): Member[] {
    if (pool.length <= 2 * k + 1) return this.#shuffle(pool.filter((m) => m.info.id !== exclude)).slice(0, k);
    const chosen = new Set<Member>();
    while (chosen.size < k) {
      const m = pool[Math.floor(this.#random() * pool.length)]!;
      if (m.info.id !== exclude) chosen.add(m);
    }
    return [...chosen];
  }

  #shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  #event(now: number, type: MemberEventType, m: Member, extra?: { by?: NodeId; reason?: string }): void {
    this.#out.events.push({ type, at: now, member: toSnapshot(m), ...extra });
  }
}

function toSnapshot(m: Member): MemberSnapshot {
  const s: { -readonly [K in keyof MemberSnapshot]: MemberSnapshot[K] } = { info: m.info, state: m.state, incarnation: m.incarnation };
  if (m.proof) s.proof = m.proof;
  if (m.load) s.load = m.load;
  if (m.loadProof) s.loadProof = m.loadProof;
  return s;
}
