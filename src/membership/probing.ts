import type { Visit } from "./deadlines.ts";
import { isLive, type MemberRecord } from "./member-table.ts";
import { type CoreParts, pick, sameBytes, shuffle } from "./parts.ts";
import type { Transitions } from "./transitions.ts";
import type { Address, Input, Inspection, Message, NodeId, Nonce, Proof, Update } from "./types.ts";

/** A relay sends its nack once this fraction of the probe timeout has passed without an ack. */
const NACK_FRACTION = 0.8;

/**
 * The probe in flight. Direct: a ping is out, waiting for its ack. Indirect: the ack timeout
 * passed; relays and an HTTP check are asked, and the probe ends at `endAt`. An answered probe
 * is over: none is held. Only an answer proving the target itself saw `nonce` ends it.
 */
type Probe =
  | {
      readonly phase: "direct";
      readonly target: NodeId;
      readonly seq: number;
      readonly nonce: Nonce;
      readonly sentAt: number;
      readonly ackDeadline: number;
      readonly endAt: number;
    }
  | {
      readonly phase: "indirect";
      readonly target: NodeId;
      readonly seq: number;
      readonly nonce: Nonce;
      readonly endAt: number;
      /** Relays asked; each owes a nack if the target stays silent. */
      readonly relays: number;
      nacks: number;
      /** Who was asked, and who of them nacked (for the evidence; at most indirectChecks each). */
      readonly asked: readonly NodeId[];
      readonly nackers: NodeId[];
      /** Our own HTTP check found the port closed. */
      refusedBySelf: boolean;
      /** Relays whose HTTP check found the port closed. */
      refusedByRelays: number;
    };
type Direct = Extract<Probe, { phase: "direct" }>;
type Indirect = Extract<Probe, { phase: "indirect" }>;

/** A ping we send on behalf of another member's probe (its ping-req). */
interface Relay {
  /** Our ping's sequence number (the key in the relay map). */
  readonly seq: number;
  readonly requester: Address;
  readonly requesterId: NodeId;
  readonly requesterSeq: number;
  readonly target: NodeId;
  /** The requester's nonce: the target's answer must prove it saw this one. */
  readonly nonce: Nonce;
  readonly nackAt: number;
  nacked: boolean;
}

/**
 * SWIM's failure detector with Lifeguard's refinements: one probe per round, round-robin over
 * the live members; ping-req through relays and memberlist's HTTP (TCP) fallback when the
 * direct ack is late; and the relay side of other members' probes.
 */
export class Prober {
  #seq = 0;
  #probe: Probe | undefined;
  /** Places of the members to probe this round, in probing order. */
  #order: Uint32Array = new Uint32Array(0);
  #index = 0;
  readonly #relays = new Map<number, Relay>();
  /** Probe rounds started; and the round in which each member last proved it lives to us. */
  #round = 0;
  readonly #answered = new Map<NodeId, number>();

  constructor(
    private readonly p: CoreParts,
    private readonly tx: Transitions,
  ) {}

  /** The probe's and the relays' timers, in the order they run. */
  deadlines(visit: Visit): void {
    const direct = this.#probe;
    if (direct?.phase === "direct") visit(direct.ackDeadline, this.#ackTimeout, direct);
    const indirect = this.#probe;
    if (indirect?.phase === "indirect") visit(indirect.endAt, this.#probeEnd, indirect);
    if (this.#relays.size > 0) for (const r of this.#relays.values()) visit(r.nackAt, this.#relayTimeout, r);
  }

  readonly #ackTimeout = (_now: number, p: Direct): void => this.#goIndirect(p);
  readonly #probeEnd = (now: number, p: Indirect): void => this.#finish(now, p);
  readonly #relayTimeout = (now: number, r: Relay): void => {
    if (!r.nacked) this.#sendNack(now, r, false);
    this.#relays.delete(r.seq);
  };

  /** The next sequence number: every ping of ours gets one (probes, relays, address checks). */
  readonly nextSeq = (): number => ++this.#seq;

  /** Start this round's probe. */
  start(now: number): void {
    const target = this.#nextTarget();
    if (!target) return;
    const { t, awareness, out, stats, liveness } = this.p;
    const self = this.p.table.self.info.id;
    const seq = ++this.#seq;
    const nonce = liveness.nonce();
    stats.probes++;
    this.#round++;
    const endAt = now + awareness.scale(t.probeIntervalMs);
    const ackDeadline = Math.min(endAt, now + awareness.scale(t.probeTimeoutMs));
    this.#probe = { phase: "direct", target: target.info.id, seq, nonce, sentAt: now, ackDeadline, endAt };
    // Lifeguard's buddy system: a ping to a suspect carries the suspicion, so it can refute (or
    // resend its refutation) in the ack, even if the gossip about it missed one of us.
    const buddy: Update[] = target.state === "suspect" ? [{ kind: "suspect", id: target.info.id, incarnation: target.incarnation, from: self }] : [];
    out.piggyback(target.info.gossip, (updates) => ({ type: "ping", seq, from: self, to: target.info.id, nonce, updates: [...buddy, ...updates] }));
  }

  /** No more probing (this node leaves). */
  stop(): void {
    this.#probe = undefined;
  }

  /** The member was declared dead: our probe of it, if any, is over. */
  forget(id: NodeId): void {
    if (this.#probe?.target === id) this.#probe = undefined;
    this.#answered.delete(id);
  }

  /**
   * An ack counts only when it proves the probed member itself saw this probe's nonce, whoever
   * brings it (the member, or a relay passing its proof on): guessing a sequence number is not
   * enough.
   */
  onAck(now: number, msg: Extract<Message, { type: "ack" }>): void {
    const p = this.#probe;
    if (p && p.seq === msg.seq) {
      if (!this.#proven(p.target, p.nonce, msg.nonce, msg.proof)) return;
      this.#probe = undefined;
      if (p.phase === "indirect") {
        const detail = msg.from === p.target ? "late ack" : "through a relay: only the direct path failed";
        this.p.out.evidence(now, p.target, "answered", msg.from, { detail });
      }
      this.#heard(p.target, false);
      this.p.awareness.apply(-1);
      return;
    }
    const r = this.#relays.get(msg.seq);
    if (r && this.#proven(r.target, r.nonce, msg.nonce, msg.proof)) {
      this.#relays.delete(msg.seq);
      this.#vouch(r, msg.proof);
    }
  }

  onNack(now: number, msg: Extract<Message, { type: "nack" }>): void {
    const p = this.#probe;
    if (p?.phase !== "indirect" || p.seq !== msg.seq) return;
    p.nacks++;
    // Evidence names only the relays we asked, once each (a nack's `from` is as its datagram says).
    if (p.asked.includes(msg.from) && !p.nackers.includes(msg.from)) {
      p.nackers.push(msg.from);
      this.p.out.evidence(now, p.target, "nack", msg.from, { detail: msg.refused ? "no ack, and its HTTP port refused the connection" : "no ack" });
    }
    if (msg.refused) {
      p.refusedByRelays++;
      this.#checkRefused(now, p);
    }
  }

  /**
   * Another member asks us to probe `target` for it: only a member we know, at the addresses we
   * know for it, so nobody can make us ping or fetch arbitrary addresses (a port scan, SSRF).
   */
  onPingReq(now: number, source: Address, msg: Extract<Message, { type: "ping-req" }>): void {
    if (this.tx.leaving) return;
    const { t, out, stats, table } = this.p;
    const m = table.get(msg.target);
    if (!m || m === table.self || m.info.gossip !== msg.targetGossip || m.info.http !== msg.targetHttp) {
      stats.pingReqsRefused++;
      return;
    }
    const seq = ++this.#seq;
    stats.relayed++;
    const wait = Math.floor(t.probeTimeoutMs * NACK_FRACTION);
    const nonce = msg.nonce;
    this.#relays.set(seq, {
      seq,
      requester: source,
      requesterId: msg.from,
      requesterSeq: msg.seq,
      target: msg.target,
      nonce,
      nackAt: now + wait,
      nacked: false,
    });
    out.push(msg.targetGossip, { type: "ping", seq, from: this.p.table.self.info.id, to: msg.target, nonce, updates: [] });
    out.effect({ type: "check-http", target: msg.target, http: msg.targetHttp, nonce, timeoutMs: wait });
  }

  onHttpCheck(now: number, check: Extract<Input, { type: "http-check" }>): void {
    const { target, nonce, proof } = check;
    let result = check.result;
    let unproven = false;
    if (result === "answered" && (check.answeredAs !== target || !this.p.liveness.verify(target, nonce, proof))) {
      // Something answered at the member's address, but not as the member: it proves nothing.
      this.p.stats.unprovenAcks++;
      result = "silent";
      unproven = true;
    }
    const p = this.#probe;
    if (p && p.target === target && sameBytes(p.nonce, nonce)) {
      const self = this.p.table.self.info.id;
      if (result === "answered") this.p.out.evidence(now, target, "answered", self, { detail: "over HTTP: only UDP was lost" });
      else {
        const other = check.answeredAs !== undefined && check.answeredAs !== target ? ` (answered as ${check.answeredAs})` : "";
        this.p.out.evidence(now, target, "http", self, { detail: unproven ? `unproven answer${other}` : result });
      }
      if (result === "answered") {
        this.#probe = undefined;
        this.#heard(target, false);
        this.p.stats.fallbackAcks++;
      } else if (result === "refused") {
        if (p.phase === "indirect") {
          p.refusedBySelf = true;
          this.#checkRefused(now, p);
        } else this.#checkRefused(now, { ...p, phase: "indirect", relays: 0, nacks: 0, asked: [], nackers: [], refusedBySelf: true, refusedByRelays: 0 });
      }
    }
    if (result === "silent") return;
    for (const [seq, r] of this.#relays) {
      if (r.target !== target || r.nacked || !sameBytes(r.nonce, nonce)) continue;
      if (result === "refused") this.#sendNack(now, r, true);
      else {
        // The target answers over HTTP: vouch for it as if its UDP ack had come, with its proof.
        this.#relays.delete(seq);
        this.#vouch(r, proof);
      }
    }
  }

  inspect(): Pick<Inspection, "probe" | "relays"> {
    const p = this.#probe;
    const probe = p && { phase: p.phase, target: p.target, deadline: p.phase === "direct" ? p.ackDeadline : p.endAt };
    return { probe, relays: this.#relays.size };
  }

  /** Round-robin over a shuffled list, reshuffled each round; dead and left members are skipped. */
  #nextTarget(): MemberRecord | undefined {
    const { table, random } = this.p;
    for (let tries = 0; tries < 2; tries++) {
      while (this.#index < this.#order.length) {
        const m = table.atPlace(this.#order[this.#index++]!);
        if (m && isLive(m.state)) return m;
      }
      this.#order = shuffle(random, table.liveSlots());
      this.#index = 0;
    }
    return undefined;
  }

  #goIndirect(direct: Direct): void {
    const { t, table, out, stats, random } = this.p;
    const target = table.get(direct.target);
    const relays = target ? this.#pickRelays(random, table.live(), t.indirectChecks, direct.target) : [];
    this.#probe = {
      phase: "indirect",
      target: direct.target,
      seq: direct.seq,
      nonce: direct.nonce,
      endAt: direct.endAt,
      relays: relays.length,
      nacks: 0,
      asked: relays.map((r) => r.info.id),
      nackers: [],
      refusedBySelf: false,
      refusedByRelays: 0,
    };
    if (!target) return;
    this.p.out.evidence(direct.ackDeadline, direct.target, "ack-timeout", table.self.info.id, {
      incarnation: target.incarnation,
      relays: this.#probe.asked,
      detail: `no ack within ${direct.ackDeadline - direct.sentAt} ms`,
    });
    // memberlist's TCP fallback: an answer over HTTP clears a probe that UDP loss failed.
    out.effect({
      type: "check-http",
      target: direct.target,
      http: target.info.http,
      nonce: direct.nonce,
      timeoutMs: Math.floor((direct.endAt - direct.ackDeadline) * NACK_FRACTION),
    });
    for (const r of relays) {
      stats.pingReqs++;
      out.piggyback(r.info.gossip, (updates) => ({
        type: "ping-req",
        seq: direct.seq,
        from: table.self.info.id,
        target: direct.target,
        targetGossip: target.info.gossip,
        targetHttp: target.info.http,
        nonce: direct.nonce,
        updates,
      }));
    }
  }

  #finish(now: number, p: Indirect): void {
    this.#probe = undefined;
    // Lifeguard: missing nacks mean our own network or process is the likely culprit.
    this.p.awareness.apply(p.relays > 0 ? p.relays - p.nacks : 1);
    const m = this.p.table.get(p.target);
    const self = this.p.table.self.info.id;
    this.#heard(p.target, true);
    if (m && isLive(m.state)) {
      const silent = p.asked.filter((r) => !p.nackers.includes(r));
      this.p.out.evidence(now, p.target, "probe-failed", self, {
        incarnation: m.incarnation,
        relays: silent,
        detail: `no proof of life: ${p.relays} relays asked, ${p.nacks} nacks`,
      });
    }
    if (m?.state === "alive") this.tx.suspect(now, m, m.incarnation, self, "probe timeout");
    // Already suspected by someone else: our failed probe is an independent confirmation.
    else if (m?.state === "suspect") this.tx.apply(now, { kind: "suspect", id: m.info.id, incarnation: m.incarnation, from: self });
  }

  /**
   * A crashed process on a live host refuses connections. Our own refused check confirmed by
   * a relay's (or ours alone when there is no relay) is strong evidence: skip the suspicion.
   */
  #checkRefused(now: number, p: Indirect): void {
    if (!p.refusedBySelf) return;
    if (p.refusedByRelays < 1 && p.relays > 0) return;
    const m = this.p.table.get(p.target);
    if (!m || !isLive(m.state)) return;
    const self = this.p.table.self.info.id;
    this.#heard(p.target, true);
    if (m.state === "alive") this.tx.suspect(now, m, m.incarnation, self, "connection refused");
    this.tx.declareDead(now, m, self, "connection refused");
    this.#probe = undefined;
  }

  #sendNack(now: number, r: Relay, refused: boolean): void {
    r.nacked = true;
    this.p.out.evidence(now, r.target, "nack", this.p.table.self.info.id, { relays: [r.requesterId], detail: refused ? "connection refused" : "no ack" });
    this.p.stats.nacksSent++;
    this.p.out.push(r.requester, { type: "nack", seq: r.requesterSeq, from: this.p.table.self.info.id, refused });
  }

  #vouch(r: Relay, proof: Proof | undefined): void {
    const ack: Message = { type: "ack", seq: r.requesterSeq, from: this.p.table.self.info.id, nonce: r.nonce, updates: [] };
    this.p.out.push(r.requester, proof ? { ...ack, proof } : ack);
  }

  /**
   * Relays among members that proved they live to us within the last two rounds over the
   * table, the rest at random only when too few did. A member an insider invented (listed
   * alive until probes find it out) never nacks; asked as a relay, its missing nacks would read
   * as our own fault (Lifeguard) and slow our probing, and a crash's refused port would wait for
   * a relay's confirmation that never comes.
   */
  #pickRelays(random: () => number, live: Iterable<MemberRecord>, k: number, target: NodeId): MemberRecord[] {
    const since = this.#round - 2 * this.p.table.live().length - 1;
    const recent: MemberRecord[] = [];
    const others: MemberRecord[] = [];
    for (const m of live) {
      if (m.info.id === target || m === this.p.table.self) continue;
      ((this.#answered.get(m.info.id) ?? Number.NEGATIVE_INFINITY) >= since ? recent : others).push(m);
    }
    if (recent.length >= k) return pick(random, recent, k);
    return [...recent, ...pick(random, others, k - recent.length)];
  }

  /** Our probe of `id` ended: with its proof of life, or `silent`. */
  #heard(id: NodeId, silent: boolean): void {
    const m = this.p.table.get(id);
    if (m) this.p.table.setSilent(m, silent);
    if (silent) this.#answered.delete(id);
    else {
      this.#answered.set(id, this.#round);
      // Bounded by the table: members no longer in it are dropped once in a while.
      if (this.#answered.size > 2 * this.p.table.live().length + 16)
        for (const known of this.#answered.keys()) if (!this.p.table.get(known)) this.#answered.delete(known);
    }
  }

  /** Does this answer prove that `target` itself saw `nonce`? Counted when it does not. */
  #proven(target: NodeId, nonce: Nonce, answered: Nonce, proof: Proof | undefined): boolean {
    if (sameBytes(nonce, answered) && this.p.liveness.verify(target, nonce, proof)) return true;
    this.p.stats.unprovenAcks++;
    return false;
  }
}
