import { announced, incarnationCeiling, refutableAt } from "./incarnation.ts";
import { ALIVE, DEAD, isLive, LEFT, type Liveness, type MemberRecord, toSnapshot } from "./member-table.ts";
import type { CoreParts } from "./parts.ts";
import { supersedes } from "./precedence.ts";
import { openSuspicion } from "./suspicion.ts";
import type { EvidenceKind, MemberEventType, MemberSnapshot, MemberState, NodeId, NodeInfo, Update } from "./types.ts";

/** The evidence a transition leaves (an `updated` alive, new address or name, leaves none). */
const EVIDENCE_OF: Partial<Record<MemberEventType, EvidenceKind>> = {
  joined: "joined",
  suspect: "suspect",
  alive: "refuted",
  rejoined: "rejoined",
  dead: "dead",
  left: "left",
};

export interface TransitionHooks {
  /** Send the gossip queue now rather than at the next round. */
  gossipNow(now: number): void;
  /** The member was declared dead: a probe of it is over. */
  died(id: NodeId): void;
  /** `claim` names an address `holder` holds: find out whether its claimant is there. */
  checkAddress(now: number, claim: Extract<Update, { kind: "alive" }>, holder: MemberRecord): void;
}

/**
 * Every change to what this node believes about a member (itself included) goes through here:
 * claims heard (merged by SWIM's precedence rules), verdicts of our own probes, leaving. Each
 * change is recorded in the table, queued for gossip and reported as an event.
 */
export class Transitions {
  #leaving = false;
  /** A refutation waiting for the clock (see refutableAt), with what it refutes; none: Infinity. */
  #refuteAt = Number.POSITIVE_INFINITY;
  #refuting: { kind: MemberState; incarnation: number } | undefined;

  constructor(
    private readonly p: CoreParts,
    private readonly hooks: TransitionHooks,
  ) {}

  get leaving(): boolean {
    return this.#leaving;
  }

  /** When a refutation held back by its pace is due; Infinity when none waits. */
  get refutationDue(): number {
    return this.#refuteAt;
  }

  applyAll(now: number, updates: readonly Update[]): void {
    for (const u of updates) this.apply(now, u);
  }

  /** `fromSnapshot`: a member table (a peer's view, possibly of this node's previous life). */
  apply(now: number, u: Update, fromSnapshot = false): void {
    const { table, queue } = this.p;
    if (u.kind === "load") {
      const m = table.get(u.id);
      if (!m || m === table.self || (m.load && m.load.version >= u.load.version)) return;
      table.setLoad(m, u.load, u.proof);
      queue.enqueue(u);
      return;
    }
    if (u.incarnation > incarnationCeiling(now)) {
      this.#invalid();
      return;
    }
    const id = u.kind === "alive" ? u.info.id : u.id;
    if (id === table.self.info.id) {
      this.#aboutSelf(now, u, fromSnapshot);
      return;
    }
    const cur = table.get(id);
    if (cur && !announced(cur.incarnation, u.kind, u.incarnation)) {
      this.#invalid();
      return;
    }
    if (u.kind === "suspect" && cur?.state === "suspect" && cur.incarnation === u.incarnation) {
      if (cur.suspicion.confirm(u.from)) {
        queue.enqueue(u);
        const left = Math.max(0, Math.round(cur.suspicion.deadline - now));
        this.p.out.evidence(now, id, "confirm", u.from, { incarnation: u.incarnation, detail: `dead in ${left} ms unless refuted` });
      }
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
        if (this.#addressFree(now, u)) this.#setAlive(now, u, cur);
        break;
      case "suspect":
        this.suspect(now, cur!, u.incarnation, u.from);
        break;
      case "dead":
        this.declareDead(now, cur!, u.from);
        break;
      case "left":
        table.setProof(cur!, u.proof);
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
    if (s.state === "alive") this.apply(now, { kind: "alive", incarnation: s.incarnation, info: s.info, proof: s.proof }, true);
    else if (s.state === "left") this.apply(now, { kind: "left", id, incarnation: s.incarnation, proof: s.proof }, true);
    else if (id === this.p.table.self.info.id || this.p.table.has(id)) {
      this.apply(now, { kind: "suspect", id, incarnation: s.incarnation, from: this.p.table.self.info.id }, true);
    }
    if (s.load) this.apply(now, { kind: "load", id, load: s.load, proof: s.loadProof });
  }

  suspect(now: number, row: MemberRecord, incarnation: number, from: NodeId, reason?: string): void {
    // This table's own row as it is now (a caller may hold a shared row copied since).
    const m = this.p.table.own(row);
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

  declareDead(now: number, row: MemberRecord, from: NodeId, reason?: string): void {
    const m = this.p.table.own(row);
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

  /**
   * An operator's force-leave: a dead or suspect member becomes `left` here, no longer probed or
   * retried. Only the member signs its own `left`, so this one stays local (shown to others as
   * `dead`); the member itself is told it was declared dead, and if it lives after all its
   * refutation (a higher incarnation) outranks the tombstone everywhere. Refused (false) for this
   * node, an unknown member and a live one.
   */
  forceLeave(now: number, id: NodeId): boolean {
    const { table, out } = this.p;
    const m = table.get(id);
    if (!m || m === table.self || (m.state !== "dead" && m.state !== "suspect")) return false;
    const self = table.self.info.id;
    out.push(m.info.gossip, { type: "gossip", from: self, updates: [{ kind: "dead", id, incarnation: m.incarnation, from: self }] });
    this.hooks.died(id);
    this.#transition(now, m, LEFT, m.incarnation, "left", { by: self, reason: "force-leave" });
    table.setForced(m);
    return true;
  }

  /** An operator prunes a dead or left member (never a live one): the row is forgotten at once. */
  forget(now: number, id: NodeId): boolean {
    const { table, out } = this.p;
    const m = table.get(id);
    if (!m || m === table.self || (m.state !== "dead" && m.state !== "left")) return false;
    table.remove(m);
    out.evidence(now, id, "forgotten", table.self.info.id, { incarnation: m.incarnation, detail: "pruned by an operator" });
    return true;
  }

  aliveUpdate(): Update {
    const self = this.p.table.self;
    return { kind: "alive", incarnation: self.incarnation, info: self.info };
  }

  /** The claimant proved itself at the address it claims: whoever held it there is gone. */
  acceptAddressClaim(now: number, claim: Extract<Update, { kind: "alive" }>): void {
    const { table } = this.p;
    const holderId = table.holderOf(claim.info.gossip);
    const holder = holderId === undefined || holderId === claim.info.id ? undefined : table.get(holderId);
    if (holder && holder !== table.self) this.#replace(now, holder, claim.info.id);
    this.apply(now, claim);
  }

  /**
   * May this alive take its address? Yes if nobody else holds it, or the holder left, or is dead
   * by its own silence (this node's own probe of it went unanswered; someone's unsigned `dead`
   * is not enough). Otherwise the claim is refused, and the address asked who is there: the
   * claimant's proof of life from it brings the claim back (acceptAddressClaim).
   */
  #addressFree(now: number, u: Extract<Update, { kind: "alive" }>): boolean {
    const { table } = this.p;
    const holderId = table.holderOf(u.info.gossip);
    const holder = holderId === undefined || holderId === u.info.id ? undefined : table.get(holderId);
    if (!holder || holder.state === "left" || (holder.state === "dead" && table.isSilent(holder))) return true;
    this.p.stats.addressConflicts++;
    if (holder !== table.self) this.hooks.checkAddress(now, u, holder);
    return false;
  }

  #replace(now: number, old: MemberRecord, by: NodeId): void {
    this.p.table.remove(old);
    if (!isLive(old.state)) return;
    const reason = `replaced by ${by}`;
    this.p.out.event(now, "left", { ...toSnapshot(old), state: "left" }, { reason });
    this.p.out.evidence(now, old.info.id, "left", by, { incarnation: old.incarnation, detail: reason });
  }

  /** A refutation held back by its pace is due. */
  /** This node's own info changed (its tags): a new incarnation of its alive claim says so. */
  announce(now: number, info: NodeInfo): void {
    const self = this.p.table.self;
    if (this.#leaving || info.id !== self.info.id || info.gossip !== self.info.gossip) return;
    this.p.table.readdress(self, info);
    self.incarnation++;
    self.changedAt = now;
    self.proof = undefined;
    this.p.queue.enqueue(this.aliveUpdate());
    this.hooks.gossipNow(now);
    this.p.out.event(now, "updated", toSnapshot(self), { reason: "announced new tags" });
  }

  refuteNow(now: number): void {
    const r = this.#refuting;
    this.#refuteAt = Number.POSITIVE_INFINITY;
    this.#refuting = undefined;
    if (r && !this.#leaving) this.#raiseSelf(now, this.p.table.self.incarnation + 1, r.kind, r.incarnation);
  }

  #invalid(): void {
    this.p.stats.invalidIncarnations++;
  }

  /**
   * Someone made a claim about us. Anything but "alive, as we know it" is refuted, at a pace
   * that keeps our incarnation within REFUTE_AHEAD_S of our clock. A claim above our
   * incarnation can only be our own from a previous life (a restart): an `alive` (its signature
   * is ours, checked at the edge) or an entry of a peer's member table; anyone else naming it
   * made it up.
   */
  #aboutSelf(now: number, u: Exclude<Update, { kind: "load" }>, fromSnapshot: boolean): void {
    if (this.#leaving) return;
    const { kind, incarnation } = u;
    const self = this.p.table.self;
    if ((u.kind === "suspect" || u.kind === "dead") && incarnation === self.incarnation) {
      this.p.out.evidence(now, self.info.id, u.kind, u.from, { incarnation, detail: "about this node" });
    }
    if (incarnation > self.incarnation) {
      if (kind === "alive" || fromSnapshot) this.#raiseSelf(now, incarnation + 1, kind, incarnation);
      else this.#invalid();
      return;
    }
    if (kind === "alive" || incarnation < self.incarnation) {
      // A stale suspicion: its sender missed our refutation. Resend it (rides on our next ack).
      if (kind !== "alive") this.p.queue.enqueue(this.aliveUpdate());
      return;
    }
    const at = refutableAt(self.incarnation + 1);
    if (at <= now) this.#raiseSelf(now, self.incarnation + 1, kind, incarnation);
    else if (!this.#refuting) {
      this.#refuteAt = at;
      this.#refuting = { kind, incarnation };
    }
  }

  #raiseSelf(now: number, to: number, kind: MemberState, incarnation: number): void {
    const self = this.p.table.self;
    self.incarnation = to;
    self.changedAt = now;
    self.proof = undefined;
    // Whatever waited to be refuted is refuted by this too.
    this.#refuteAt = Number.POSITIVE_INFINITY;
    this.#refuting = undefined;
    this.p.stats.refutations++;
    if (kind !== "alive") this.p.awareness.apply(1);
    this.p.queue.enqueue(this.aliveUpdate());
    this.hooks.gossipNow(now);
    const reason = `refuted ${kind} at incarnation ${incarnation}`;
    this.p.out.event(now, "refuted", toSnapshot(self), { reason });
    this.p.out.evidence(now, self.info.id, "refuted", self.info.id, { incarnation: to, detail: reason });
  }

  #setAlive(now: number, u: Extract<Update, { kind: "alive" }>, cur: MemberRecord | undefined): void {
    const { table } = this.p;
    const { info, incarnation } = u;
    const holder = table.holderOf(info.gossip);
    if (holder !== undefined && holder !== info.id) {
      // A new identity on an address whose holder left or fell silent: the old process is gone.
      const old = table.get(holder);
      if (old) this.#replace(now, old, info.id);
    }
    this.p.queue.enqueue(u);
    if (!cur) {
      const m = table.add(info, ALIVE, incarnation, now, u.proof);
      this.p.out.event(now, "joined", toSnapshot(m));
      return;
    }
    const prev = cur.state;
    table.setSilent(cur, false);
    table.readdress(cur, info);
    table.setProof(cur, u.proof);
    const type: MemberEventType = prev === "alive" ? "updated" : prev === "suspect" ? "alive" : "rejoined";
    this.#transition(now, cur, ALIVE, incarnation, type);
  }

  #transition(now: number, row: MemberRecord, to: Liveness, incarnation: number, type: MemberEventType, extra?: { by?: NodeId; reason?: string }): void {
    const m = this.p.table.own(row);
    const kind = EVIDENCE_OF[type];
    const suspectedMs = m.state === "suspect" ? now - m.suspicion.startedAt : undefined;
    const before = m.incarnation;
    this.p.table.enter(m, to, incarnation, now);
    this.p.out.event(now, type, toSnapshot(m), extra);
    if (!kind) return;
    const detail = type === "alive" ? `incarnation ${before} → ${incarnation}` : extra?.reason;
    this.p.out.evidence(now, m.info.id, kind, extra?.by ?? m.info.id, {
      incarnation,
      ...(suspectedMs === undefined ? {} : { suspectedMs }),
      ...(detail === undefined ? {} : { detail }),
    });
  }
}
