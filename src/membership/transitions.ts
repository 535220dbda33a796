import { ALIVE, DEAD, isLive, LEFT, type Liveness, type MemberRecord, toSnapshot } from "./member-table.ts";
import type { CoreParts } from "./parts.ts";
import { supersedes } from "./precedence.ts";
import { openSuspicion } from "./suspicion.ts";
import type { MemberEventType, MemberSnapshot, MemberState, NodeId, Update } from "./types.ts";

export interface TransitionHooks {
  /** Send the gossip queue now rather than at the next round. */
  gossipNow(now: number): void;
  /** The member was declared dead: a probe of it is over. */
  died(id: NodeId): void;
}

/**
 * Every change to what this node believes about a member (itself included) goes through here:
 * claims heard (merged by SWIM's precedence rules), verdicts of our own probes, leaving. Each
 * change is recorded in the table, queued for gossip and reported as an event.
 */
export class Transitions {
  #leaving = false;

  constructor(
    private readonly p: CoreParts,
    private readonly hooks: TransitionHooks,
  ) {}

  get leaving(): boolean {
    return this.#leaving;
  }

  applyAll(now: number, updates: readonly Update[]): void {
    for (const u of updates) this.apply(now, u);
  }

  apply(now: number, u: Update): void {
    const { table, queue } = this.p;
    if (u.kind === "load") {
      const m = table.get(u.id);
      if (!m || m === table.self || (m.load && m.load.version >= u.load.version)) return;
      m.load = u.load;
      m.loadProof = u.proof;
      queue.enqueue(u);
      return;
    }
    const id = u.kind === "alive" ? u.info.id : u.id;
    if (id === table.self.info.id) {
      this.#aboutSelf(now, u.kind, u.incarnation);
      return;
    }
    const cur = table.get(id);
    if (u.kind === "suspect" && cur?.state === "suspect" && cur.incarnation === u.incarnation) {
      if (cur.suspicion.confirm(u.from)) queue.enqueue(u);
      return;
    }
    if (!supersedes(cur, { state: u.kind, incarnation: u.incarnation })) {
      // Someone still spreads a suspicion the member has refuted: they missed the refutation,
      // so spread it again (epidemic bursts can miss a node under heavy loss).
      if ((u.kind === "suspect" || u.kind === "dead") && cur?.state === "alive" && u.incarnation < cur.incarnation) {
        queue.enqueue({ kind: "alive", incarnation: cur.incarnation, info: cur.info, proof: cur.proof });
      }
      return;
    }
    switch (u.kind) {
      case "alive":
        this.#setAlive(now, u, cur);
        break;
      case "suspect":
        this.suspect(now, cur!, u.incarnation, u.from);
        break;
      case "dead":
        this.declareDead(now, cur!, u.from);
        break;
      case "left":
        this.#transition(now, cur!, LEFT, u.incarnation, "left");
        queue.enqueue(u);
        break;
    }
  }

  /**
   * Anti-entropy merge. A remote `dead` only becomes `suspect` here (memberlist does the same):
   * a full state can be old, and the member gets a chance to refute before it is buried.
   */
  applySnapshot(now: number, s: MemberSnapshot): void {
    const id = s.info.id;
    if (s.state === "alive") this.apply(now, { kind: "alive", incarnation: s.incarnation, info: s.info, proof: s.proof });
    else if (s.state === "left") this.apply(now, { kind: "left", id, incarnation: s.incarnation });
    else if (id === this.p.table.self.info.id || this.p.table.has(id)) {
      this.apply(now, { kind: "suspect", id, incarnation: s.incarnation, from: this.p.table.self.info.id });
    }
    if (s.load) this.apply(now, { kind: "load", id, load: s.load, proof: s.loadProof });
  }

  suspect(now: number, m: MemberRecord, incarnation: number, from: NodeId, reason?: string): void {
    const suspicion = openSuspicion(this.p.t, this.p.table.liveCount, incarnation, now, from);
    this.p.stats.suspicions++;
    const u: Update = { kind: "suspect", id: m.info.id, incarnation, from };
    this.p.queue.enqueue(u);
    if (from === this.p.table.self.info.id) {
      // Tell the suspect directly so it can refute at once (Lifeguard's "buddy system").
      this.p.out.push(m.info.gossip, { type: "gossip", from, updates: [u] });
    }
    this.#transition(now, m, { state: "suspect", suspicion }, incarnation, "suspect", { by: from, reason });
  }

  declareDead(now: number, m: MemberRecord, from: NodeId, reason?: string): void {
    this.p.stats.deaths++;
    this.p.queue.enqueue({ kind: "dead", id: m.info.id, incarnation: m.incarnation, from });
    this.hooks.gossipNow(now);
    this.hooks.died(m.info.id);
    this.#transition(now, m, DEAD, m.incarnation, "dead", { by: from, reason });
  }

  publishLoad(now: number, backlog: number): void {
    const self = this.p.table.self;
    // Integer versions (the wire and sync schemas take integers), strictly increasing, and on the
    // millisecond clock so a restarted node's figures still outrank what it published before.
    const load = { version: Math.max(Math.floor(now), (self.load?.version ?? 0) + 1), backlog };
    self.load = load;
    self.loadProof = undefined;
    this.p.queue.enqueue({ kind: "load", id: self.info.id, load });
  }

  leave(now: number): void {
    if (this.#leaving) return;
    this.#leaving = true;
    const { table, queue } = this.p;
    const self = table.self;
    self.proof = undefined;
    table.enter(self, LEFT, self.incarnation + 1, now);
    queue.clear();
    const u: Update = { kind: "left", id: self.info.id, incarnation: self.incarnation };
    queue.enqueue(u);
    // Tell everyone directly: a leave should be known at once, not after a few gossip rounds.
    for (const m of table.live()) this.p.out.push(m.info.gossip, { type: "gossip", from: self.info.id, updates: [u] });
    this.p.out.event(now, "left", toSnapshot(self));
  }

  aliveUpdate(): Update {
    const self = this.p.table.self;
    return { kind: "alive", incarnation: self.incarnation, info: self.info };
  }

  /** Someone made a claim about us. Anything but "alive, as we know it" is refuted. */
  #aboutSelf(now: number, kind: MemberState, incarnation: number): void {
    if (this.#leaving) return;
    const self = this.p.table.self;
    if (kind === "alive" ? incarnation <= self.incarnation : incarnation < self.incarnation) {
      // A stale suspicion: its sender missed our refutation. Resend it (rides on our next ack).
      if (kind !== "alive") this.p.queue.enqueue(this.aliveUpdate());
      return;
    }
    self.incarnation = incarnation + 1;
    self.changedAt = now;
    self.proof = undefined;
    this.p.stats.refutations++;
    if (kind !== "alive") this.p.awareness.apply(1);
    this.p.queue.enqueue(this.aliveUpdate());
    this.hooks.gossipNow(now);
    this.p.out.event(now, "refuted", toSnapshot(self), { reason: `refuted ${kind} at incarnation ${incarnation}` });
  }

  #setAlive(now: number, u: Extract<Update, { kind: "alive" }>, cur: MemberRecord | undefined): void {
    const { table } = this.p;
    const { info, incarnation } = u;
    const holder = table.holderOf(info.gossip);
    if (holder !== undefined && holder !== info.id) {
      // A new identity on an address: only one process can own a UDP port, so the old one is gone.
      const old = table.get(holder);
      if (old) {
        table.remove(old);
        if (isLive(old.state)) this.p.out.event(now, "left", { ...toSnapshot(old), state: "left" }, { reason: `replaced by ${info.id}` });
      }
    }
    this.p.queue.enqueue(u);
    if (!cur) {
      const m = table.add(info, ALIVE, incarnation, now, u.proof);
      this.p.out.event(now, "joined", toSnapshot(m));
      return;
    }
    const prev = cur.state;
    table.readdress(cur, info);
    cur.proof = u.proof;
    const type: MemberEventType = prev === "alive" ? "updated" : prev === "suspect" ? "alive" : "rejoined";
    this.#transition(now, cur, ALIVE, incarnation, type);
  }

  #transition(now: number, m: MemberRecord, to: Liveness, incarnation: number, type: MemberEventType, extra?: { by?: NodeId; reason?: string }): void {
    this.p.table.enter(m, to, incarnation, now);
    this.p.out.event(now, type, toSnapshot(m), extra);
  }
}
