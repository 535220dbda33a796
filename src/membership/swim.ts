import { AddressChecks } from "./address-check.ts";
import { Awareness } from "./awareness.ts";
import { BroadcastQueue } from "./broadcast-queue.ts";
import { Deadlines, Round, type Visit } from "./deadlines.ts";
import type { MemberDirectory } from "./member-directory.ts";
import { isLive, type MemberRecord, MemberTable, toSnapshot } from "./member-table.ts";
import { Outbox, VIA_SYNC } from "./outbox.ts";
import { type CoreParts, newStats, pick, plainLiveness, type SwimStats } from "./parts.ts";
import { Prober } from "./probing.ts";
import { openSuspicion } from "./suspicion.ts";
import { syncIntervalFor, type Timing } from "./timing.ts";
import { Transitions } from "./transitions.ts";
import type {
  Address,
  Input,
  Inspection,
  InspectionHead,
  LivenessProofs,
  Member,
  MemberInspection,
  MemberSnapshot,
  Message,
  NodeId,
  NodeInfo,
  Output,
  Update,
} from "./types.ts";

export type { SwimStats } from "./parts.ts";

export interface SwimConfig {
  readonly self: NodeInfo;
  readonly timing: Timing;
  /** Uniform in [0, 1); seeded in the simulator. */
  readonly random: () => number;
  /** Encoded size of one update in bytes (from the wire codec), for the packet budget. */
  readonly sizeOf: (u: Update) => number;
  /** How probed members prove they answered in person (default: nonces only, as in open mode). */
  readonly liveness?: LivenessProofs;
  /** Start above any incarnation a previous run of this identity may have used. */
  readonly initialIncarnation?: number;
  /**
   * Members already known at start, taken as settled: no events, nothing to re-gossip
   * (simulator warm start). A suspect among them gets a fresh suspicion, as if we had raised it.
   */
  readonly initialMembers?: readonly MemberSnapshot[];
  /**
   * Numbers members for the table (default: a directory of this core's own). The simulator
   * shares one among all its nodes, and with it the rows of `initialMembers`.
   */
  readonly directory?: MemberDirectory;
  readonly now: number;
}

/**
 * The SWIM + Lifeguard state machine, sans IO: `handle(now, input)` returns the datagrams to
 * send, the effects to perform, the events to report and when to call again.
 *
 * This class is the dispatcher: it routes inputs to the mechanisms (the member table, the
 * prober, the transitions that change what we believe) and runs the periodic rounds. Every
 * timer of every mechanism is listed once, in `#list`.
 */
export class Swim {
  readonly stats: SwimStats = newStats();
  readonly #p: CoreParts;
  readonly #table: MemberTable;
  readonly #tx: Transitions;
  readonly #prober: Prober;
  readonly #addresses: AddressChecks;
  #lastCallAt: number | undefined;
  readonly #probeRound: Round;
  readonly #gossipRound: Round;
  readonly #syncRound: Round;
  readonly #reconnectRound: Round;
  readonly #deadlines = new Deadlines((visit) => this.#list(visit));

  constructor(cfg: SwimConfig) {
    const t = cfg.timing;
    const table = new MemberTable(cfg.self, cfg.initialIncarnation ?? 0, cfg.now, cfg.directory);
    const queue = new BroadcastQueue(cfg.sizeOf);
    const out = new Outbox(queue, t, () => table.liveCount, cfg.self.id);
    const liveness = cfg.liveness ?? plainLiveness(cfg.random);
    this.#p = { t, table, queue, awareness: new Awareness(t.maxAwareness), stats: this.stats, out, random: cfg.random, liveness };
    this.#table = table;
    this.#tx = new Transitions(this.#p, {
      gossipNow: (now) => {
        this.#gossipRound.at = Math.min(this.#gossipRound.at, now);
      },
      died: (id) => this.#prober.forget(id),
      checkAddress: (now, claim, holder) => this.#addresses.request(now, claim, holder),
    });
    this.#prober = new Prober(this.#p, this.#tx);
    this.#addresses = new AddressChecks(this.#p, this.#prober.nextSeq, (now, claim) => this.#tx.acceptAddressClaim(now, claim));
    this.#loadInitial(cfg);
    queue.enqueue(this.#tx.aliveUpdate());
    const { awareness, random } = this.#p;
    const jitter = () => Math.floor(random() * t.probeIntervalMs);
    this.#probeRound = new Round(
      cfg.now + jitter(),
      () => awareness.scale(t.probeIntervalMs),
      (now) => this.#probeRoundStarts(now),
    );
    this.#gossipRound = new Round(
      cfg.now,
      () => t.gossipIntervalMs,
      (now) => this.#gossip(now),
    );
    this.#syncRound = new Round(
      cfg.now + t.syncIntervalMs + jitter(),
      () => syncIntervalFor(t, table.liveCount),
      () => this.#syncWithRandomPeer(),
    );
    this.#reconnectRound = new Round(
      cfg.now + t.reconnectIntervalMs + jitter(),
      () => t.reconnectIntervalMs,
      () => this.#retryDead(),
    );
  }

  get self(): NodeInfo {
    return this.#table.self.info;
  }

  get incarnation(): number {
    return this.#table.self.incarnation;
  }

  get leaving(): boolean {
    return this.#tx.leaving;
  }

  get healthScore(): number {
    return this.#p.awareness.score;
  }

  /** Every member we know, this node included. */
  members(): readonly Readonly<Member>[] {
    return [...this.#table.values()];
  }

  member(id: NodeId): Readonly<Member> | undefined {
    return this.#table.get(id);
  }

  /** The member whose gossip address this is, if any. */
  memberAt(gossip: Address): Readonly<Member> | undefined {
    const id = this.#table.holderOf(gossip);
    return id === undefined ? undefined : this.#table.get(id);
  }

  /**
   * Full state for anti-entropy. A member an operator force-left is shown as what this node can
   * say of it unsigned: dead (a live one that sees it refutes; see Transitions.forceLeave).
   */
  snapshot(): MemberSnapshot[] {
    const table = this.#table;
    return [...table.values()].map((m) => (table.isForced(m) ? { ...toSnapshot(m), state: "dead" } : toSnapshot(m)));
  }

  /** Members that are alive or suspect, this node included: the cluster size estimate. */
  get liveCount(): number {
    return this.#table.liveCount;
  }

  handle(now: number, input: Input): Output {
    this.#lastCallAt = now;
    switch (input.type) {
      case "tick":
      case "sync-failed":
        break;
      case "message":
        this.stats.messagesIn++;
        this.#p.out.via = input.message.from;
        this.#onMessage(now, input.source, input.message);
        break;
      case "http-check":
        if (!this.#addresses.onHttpCheck(now, input)) this.#prober.onHttpCheck(now, input);
        break;
      case "sync":
        this.#p.out.via = VIA_SYNC;
        this.#applySync(now, input.members);
        break;
      case "load":
        this.#tx.publishLoad(now, input.backlog);
        break;
      case "leave":
        if (!this.#tx.leaving) this.#prober.stop();
        this.#tx.leave(now);
        break;
      case "expel": {
        const m = this.#table.get(input.id);
        if (m && m !== this.#table.self && (m.state === "alive" || m.state === "suspect")) this.#tx.declareDead(now, m, this.self.id, input.reason);
        break;
      }
      case "retag":
        this.#tx.announce(now, { ...this.self, tags: input.tags });
        break;
      case "force-leave":
        this.#tx.forceLeave(now, input.id);
        break;
      case "forget":
        this.#tx.forget(now, input.id);
        break;
    }
    return this.#p.out.drain(this.#deadlines.runDue(now));
  }

  /** A read-only view of the whole state, for invariant checks; changes nothing. */
  inspect(): Inspection {
    const { members, strays } = this.#table.inspect();
    const h = this.inspectHead();
    return {
      self: h.self,
      leaving: h.leaving,
      lastCallAt: h.lastCallAt,
      wakeAt: h.wakeAt,
      liveCount: h.liveCount,
      probe: h.probe,
      relays: h.relays,
      members,
      strays,
    };
  }

  /** The state but the table (O(1) in the cluster size), for checks after every step of a large cluster. */
  inspectHead(): InspectionHead {
    const p = this.#prober.inspect();
    return {
      self: this.self.id,
      leaving: this.leaving,
      lastCallAt: this.#lastCallAt,
      wakeAt: this.#deadlines.earliest(),
      liveCount: this.liveCount,
      probe: p.probe,
      relays: p.relays,
    };
  }

  /** One member as `inspect()` shows it. */
  inspectMember(id: NodeId): MemberInspection | undefined {
    return this.#table.inspectMember(id);
  }

  /**
   * Every timer the core keeps, in the order they run: the probe and relays, suspicions, then
   * the periodic rounds (stopped once leaving). Each entry is read when visited, so it sees the
   * effects of the ones fired before it (a death queues gossip that goes out in the same call).
   */
  #list(visit: Visit): void {
    this.#prober.deadlines(visit);
    this.#addresses.deadlines(visit);
    const suspects = this.#table.suspects();
    if (suspects.size > 0) for (const m of suspects) if (m.state === "suspect") visit(m.suspicion.deadline, this.#suspicionTimeout, m);
    visit(this.#tx.refutationDue, this.#refute, undefined);
    if (this.#tx.leaving) return;
    visit(this.#probeRound.at, this.#probeRound.fire, undefined);
    // Gossip rounds run only while there is something to say.
    if (this.#p.queue.length > 0) visit(this.#gossipRound.at, this.#gossipRound.fire, undefined);
    visit(this.#syncRound.at, this.#syncRound.fire, undefined);
    visit(this.#reconnectRound.at, this.#reconnectRound.fire, undefined);
  }

  readonly #refute = (now: number): void => this.#tx.refuteNow(now);
  readonly #suspicionTimeout = (now: number, m: MemberRecord): void => this.#tx.declareDead(now, m, this.self.id, "suspicion timeout");

  #onMessage(now: number, source: Address, msg: Message): void {
    const self = this.self.id;
    switch (msg.type) {
      case "ping":
        this.#tx.applyAll(now, msg.updates);
        if (msg.to !== self) {
          // Meant for an identity that used to live at this address: stay silent so it fails.
          this.stats.misdirected++;
          return;
        }
        // The driver signs the nonce (secured modes): only this node can answer its probes.
        this.#p.out.piggyback(source, (updates) => ({ type: "ack", seq: msg.seq, from: self, nonce: msg.nonce, updates }));
        return;
      case "ack":
        this.#tx.applyAll(now, msg.updates);
        if (!this.#addresses.onAck(now, msg)) this.#prober.onAck(now, msg);
        return;
      case "ping-req":
        this.#tx.applyAll(now, msg.updates);
        this.#prober.onPingReq(now, source, msg);
        return;
      case "nack":
        this.#prober.onNack(now, msg);
        return;
      case "gossip":
        this.#tx.applyAll(now, msg.updates);
        return;
    }
  }

  #probeRoundStarts(now: number): void {
    this.#table.reap(now, this.#p.t);
    this.#prober.start(now);
  }

  #syncWithRandomPeer(): void {
    const peer = pick(this.#p.random, this.#table.live(), 1)[0];
    if (peer) this.#requestSync(peer);
  }

  /** Retry a dead member now and then: after a partition heals, this finds the other side. */
  #retryDead(): void {
    const dead = [...this.#table.gone()].filter((g) => g.state === "dead");
    const m = pick(this.#p.random, dead, 1)[0];
    if (m) this.#requestSync(m);
  }

  /**
   * A state exchange's members. Those it introduces may not know this node yet (it has just
   * joined, or they have): each is told directly, once, instead of waiting for gossip's random
   * picks to reach it, which left the last member of a join a gossip interval behind the rest.
   */
  #applySync(now: number, members: readonly MemberSnapshot[]): void {
    const table = this.#table;
    let introduced: MemberRecord[] | undefined;
    for (const s of members) {
      const known = table.get(s.info.id) !== undefined;
      this.#tx.applySnapshot(now, s);
      const m = known || s.info.id === this.self.id ? undefined : table.get(s.info.id);
      if (m && isLive(m.state)) (introduced ??= []).push(m);
    }
    if (!introduced || this.#tx.leaving) return;
    const updates = [this.#tx.aliveUpdate()];
    for (const m of introduced) this.#p.out.push(m.info.gossip, { type: "gossip", from: this.self.id, updates });
  }

  #gossip(now: number): void {
    const { t, table, queue, random, out } = this.#p;
    // Newly dead members still hear gossip for a while, so they can refute after a blip.
    const recentDead = [...table.gone()].filter((m) => m.state === "dead" && now - m.changedAt < t.gossipToDeadMs);
    for (const m of pick(random, table.live(), t.gossipFanout, undefined, recentDead)) {
      if (queue.length === 0) break;
      out.piggyback(m.info.gossip, (updates) => ({ type: "gossip", from: this.self.id, updates }), true);
    }
  }

  #requestSync(m: MemberRecord): void {
    this.#p.out.effect({ type: "sync", target: m.info.id, http: m.info.http });
  }

  /** Warm start: rows as given, no events, no gossip; a suspect's timer starts now. */
  #loadInitial(cfg: SwimConfig): void {
    const initial = cfg.initialMembers ?? [];
    let liveCount = 1;
    for (const s of initial) if (s.info.id !== cfg.self.id && (s.state === "alive" || s.state === "suspect")) liveCount++;
    for (const s of initial) {
      if (s.info.id === cfg.self.id) continue;
      if (s.state !== "suspect") {
        this.#table.addSettled(s, cfg.now);
        continue;
      }
      const suspicion = openSuspicion(cfg.timing, liveCount, s.incarnation, cfg.now, cfg.self.id);
      const m = this.#table.add(s.info, { state: "suspect", suspicion }, s.incarnation, cfg.now, s.proof);
      if (s.load) this.#table.setLoad(m, s.load, s.loadProof);
    }
  }
}
