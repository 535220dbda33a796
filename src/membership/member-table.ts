import type { Suspicion } from "./suspicion.ts";
import type { Timing } from "./timing.ts";
import type { Address, LoadFigures, Member, MemberInspection, MemberSnapshot, MemberState, NodeId, NodeInfo, Proof } from "./types.ts";

interface RowFields {
  info: NodeInfo;
  incarnation: number;
  /** Local time of the last state change, for reaping and "last change" display. */
  changedAt: number;
  proof?: Proof;
  load?: LoadFigures;
  loadProof?: Proof;
}

/**
 * Where a member stands. A suspect carries its own suspicion (and so its deadline): a suspect
 * without a timer cannot be written down.
 */
export type Liveness =
  | { readonly state: "alive" | "dead" | "left"; readonly suspicion?: undefined }
  | { readonly state: "suspect"; readonly suspicion: Suspicion };

export const ALIVE: Liveness = { state: "alive" };
export const DEAD: Liveness = { state: "dead" };
export const LEFT: Liveness = { state: "left" };

/**
 * One row of the member table: a plain object (a million of them at N=1000 in the simulator,
 * so no class, getter or spare field), seen by callers outside the core as a read-only `Member`.
 * Its liveness changes only through `MemberTable.enter`, so the table's indices always agree.
 */
export type MemberRecord = RowFields & Liveness;

export const isLive = (s: MemberState): boolean => s === "alive" || s === "suspect";

/**
 * The member table: rows by id plus the indices the protocol needs to stay cheap at N=1000
 * (gossip address → id, live members, suspects, dead and left members awaiting reaping).
 */
export class MemberTable {
  readonly #rows = new Map<NodeId, MemberRecord>();
  readonly #byGossip = new Map<Address, NodeId>();
  /** Dead and left members other than this node, in the order they went. */
  readonly #gone = new Set<MemberRecord>();
  readonly #suspects = new Set<MemberRecord>();
  /** Members whose latest probe by this node went unanswered (no proof of life from them). */
  readonly #silent = new Set<MemberRecord>();
  /** Members an operator marked left (force-leave): left here, but shown to others as dead. */
  readonly #forced = new Set<MemberRecord>();
  #live: MemberRecord[] | undefined;
  readonly self: MemberRecord;

  constructor(self: NodeInfo, incarnation: number, now: number) {
    this.self = this.add(self, ALIVE, incarnation, now);
  }

  get(id: NodeId): MemberRecord | undefined {
    return this.#rows.get(id);
  }

  has(id: NodeId): boolean {
    return this.#rows.has(id);
  }

  values(): IterableIterator<MemberRecord> {
    return this.#rows.values();
  }

  /** The member that holds this gossip address, if any. */
  holderOf(gossip: Address): NodeId | undefined {
    return this.#byGossip.get(gossip);
  }

  add(info: NodeInfo, liveness: Liveness, incarnation: number, now: number, proof?: Proof): MemberRecord {
    const m = newRow(info, liveness.state, incarnation, now);
    if (liveness.suspicion) setLiveness(m, liveness);
    if (proof) m.proof = proof;
    this.#rows.set(info.id, m);
    this.#byGossip.set(info.gossip, info.id);
    this.#index(m);
    this.#live = undefined;
    return m;
  }

  remove(m: MemberRecord): void {
    this.#rows.delete(m.info.id);
    if (this.#byGossip.get(m.info.gossip) === m.info.id) this.#byGossip.delete(m.info.gossip);
    this.#suspects.delete(m);
    this.#gone.delete(m);
    this.#silent.delete(m);
    this.#forced.delete(m);
    this.#live = undefined;
  }

  /**
   * Our own probe of the member went unanswered (`silent`), or it proved it lives. A member that
   * is dead and silent is dead by its own silence as this node saw it, not on someone's word.
   */
  setSilent(m: MemberRecord, silent: boolean): void {
    if (silent) this.#silent.add(m);
    else this.#silent.delete(m);
  }

  isSilent(m: MemberRecord): boolean {
    return this.#silent.has(m);
  }

  /** An operator's force-leave put it in `left` (a tombstone without the member's signature). */
  setForced(m: MemberRecord): void {
    this.#forced.add(m);
  }

  isForced(m: MemberRecord): boolean {
    return this.#forced.size > 0 && this.#forced.has(m);
  }

  /** A member's own claim may carry a new address. */
  readdress(m: MemberRecord, info: NodeInfo): void {
    if (m.info.gossip !== info.gossip && this.#byGossip.get(m.info.gossip) === m.info.id) this.#byGossip.delete(m.info.gossip);
    m.info = info;
    this.#byGossip.set(info.gossip, info.id);
  }

  /** The one place a member's liveness changes. */
  enter(m: MemberRecord, liveness: Liveness, incarnation: number, now: number): void {
    const wasLive = isLive(m.state);
    if (liveness.state !== m.state) m.changedAt = now;
    setLiveness(m, liveness);
    m.incarnation = incarnation;
    if (wasLive !== isLive(m.state)) this.#live = undefined;
    // Any change but the force-leave itself (which marks it after) lifts the mark.
    if (this.#forced.size > 0) this.#forced.delete(m);
    this.#index(m);
  }

  /** Alive and suspect members other than this node (cached until membership changes). */
  live(): readonly MemberRecord[] {
    if (!this.#live) {
      this.#live = [];
      for (const m of this.#rows.values()) if (m !== this.self && isLive(m.state)) this.#live.push(m);
    }
    return this.#live;
  }

  /** Members that are alive or suspect, this node included: the cluster size estimate. */
  get liveCount(): number {
    return this.live().length + 1;
  }

  /** Members now suspect: each carries the suspicion whose deadline is a timer of the core. */
  suspects(): ReadonlySet<MemberRecord> {
    return this.#suspects;
  }

  /** Dead and left members other than this node, in the order they went. */
  gone(): ReadonlySet<MemberRecord> {
    return this.#gone;
  }

  /** Forget dead and left members once their retention has passed. */
  reap(now: number, t: Timing): void {
    for (const m of this.#gone) {
      const keep = m.state === "dead" ? t.deadRetentionMs : t.leftRetentionMs;
      if (now - m.changedAt > keep) this.remove(m);
    }
  }

  inspect(): { members: MemberInspection[]; strays: string[] } {
    const members: MemberInspection[] = [];
    const strays: string[] = [];
    this.#rows.forEach((m, id) => {
      members.push(this.#inspectRow(m));
      if (m.info.id !== id) strays.push(`table: ${m.info.id} held under ${id}`);
    });
    const stray = (what: string, m: MemberRecord) => this.#rows.get(m.info.id) !== m && strays.push(`${what}: ${m.info.id}`);
    for (const m of this.#gone) stray("reap set", m);
    for (const m of this.#suspects) stray("suspect index", m);
    for (const m of this.#silent) stray("silent set", m);
    for (const m of this.#forced) stray("forced set", m);
    for (const m of this.#live ?? []) stray("live cache", m);
    this.#byGossip.forEach((id, gossip) => {
      if (this.#rows.get(id)?.info.gossip !== gossip) strays.push(`address index: ${gossip} → ${id}`);
    });
    return { members, strays };
  }

  /** One member as an invariant checker sees it. */
  inspectMember(id: NodeId): MemberInspection | undefined {
    const m = this.#rows.get(id);
    return m && this.#inspectRow(m);
  }

  #inspectRow(m: MemberRecord): MemberInspection {
    const s = m.state === "suspect" ? m.suspicion : undefined;
    return {
      id: m.info.id,
      gossip: m.info.gossip,
      state: m.state,
      incarnation: m.incarnation,
      changedAt: m.changedAt,
      row: m, // the row itself: its identity is what tells rows apart
      suspicionDeadline: s?.deadline,
      suspicionStartedAt: s?.startedAt,
      awaitingReap: this.#gone.has(m),
      addressIndexed: this.#byGossip.get(m.info.gossip) === m.info.id,
      forced: this.isForced(m),
    };
  }

  #index(m: MemberRecord): void {
    if (m.state === "suspect") this.#suspects.add(m);
    else this.#suspects.delete(m);
    if (m !== this.self && (m.state === "dead" || m.state === "left")) this.#gone.add(m);
    else this.#gone.delete(m);
  }
}

/**
 * A row with the four fields every member has. Built here, apart from the code that may add
 * more: JavaScriptCore sizes a literal for the properties it sees assigned next to it, and
 * 16 spare bytes a row are 16 MB in a 1000-node simulation.
 */
function newRow(info: NodeInfo, state: MemberState, incarnation: number, changedAt: number): MemberRecord {
  return { info, state, incarnation, changedAt } as MemberRecord;
}

function setLiveness(m: MemberRecord, l: Liveness): void {
  const w = m as RowFields & { state: MemberState; suspicion?: Suspicion };
  w.state = l.state;
  // Rows never suspected never get the field (a smaller object).
  if (l.suspicion || w.suspicion) w.suspicion = l.suspicion;
}

export function toSnapshot(m: Readonly<Member>): MemberSnapshot {
  const s: { -readonly [K in keyof MemberSnapshot]: MemberSnapshot[K] } = { info: m.info, state: m.state, incarnation: m.incarnation };
  if (m.proof) s.proof = m.proof;
  if (m.load) s.load = m.load;
  if (m.loadProof) s.loadProof = m.loadProof;
  return s;
}
