import { MemberDirectory } from "./member-directory.ts";
import { ALIVE, inspectRow, isGone, isLive, type Liveness, type MemberRecord, newRow, setLiveness, settledRow } from "./member-row.ts";
import { SlotList } from "./slot-list.ts";
import type { Timing } from "./timing.ts";
import type { Address, LoadFigures, MemberInspection, MemberSnapshot, NodeId, NodeInfo, Proof } from "./types.ts";

export { ALIVE, DEAD, isLive, LEFT, type Liveness, type MemberRecord, toSnapshot } from "./member-row.ts";

/** Live members but this node, in slot order: read by index, or iterated. */
export interface LiveMembers extends Iterable<MemberRecord> {
  readonly length: number;
  at(i: number): MemberRecord | undefined;
}

/**
 * The member table: rows in an array by the directory's member numbers, plus the indices the
 * protocol needs to stay cheap at N=1000 (live members, suspects, dead and left members
 * awaiting reaping). The gossip address index is the directory's: the slots ever seen at an
 * address, of which this table holds at most one there.
 */
export class MemberTable {
  readonly #dir: MemberDirectory;
  /** Rows by slot (undefined: not held). */
  readonly #rows: (MemberRecord | undefined)[];
  /** Rows held. */
  #size = 0;
  /** Dead and left members other than this node, in the order they went. */
  readonly #gone = new Set<MemberRecord>();
  readonly #suspects = new Set<MemberRecord>();
  /** Members whose latest probe by this node went unanswered (no proof of life from them). */
  readonly #silent = new Set<MemberRecord>();
  /** Members an operator marked left (force-leave): left here, but shown to others as dead. */
  readonly #forced = new Set<MemberRecord>();
  /** Live members but this node, by slot (undefined: to be counted again). */
  #live: SlotList | undefined;
  readonly #liveView: LiveMembers;
  readonly self: MemberRecord;

  constructor(self: NodeInfo, incarnation: number, now: number, directory = new MemberDirectory()) {
    this.#dir = directory;
    // Sized for the members numbered so far (all of them, in a simulation): no copies as it fills.
    this.#rows = new Array<MemberRecord | undefined>(directory.size).fill(undefined);
    const rowAt = (i: number) => {
      const slot = this.#liveSlots().at(i);
      return slot === undefined ? undefined : this.#rows[slot];
    };
    const table = this;
    this.#liveView = {
      get length() {
        return table.#liveSlots().length;
      },
      at: rowAt,
      *[Symbol.iterator]() {
        for (let i = 0; i < this.length; i++) yield rowAt(i)!;
      },
    };
    this.self = this.add(self, ALIVE, incarnation, now);
  }

  get(id: NodeId): MemberRecord | undefined {
    const slot = this.#dir.find(id);
    return slot === undefined ? undefined : this.#rows[slot];
  }

  has(id: NodeId): boolean {
    return this.get(id) !== undefined;
  }

  *values(): IterableIterator<MemberRecord> {
    for (const m of this.#rows) if (m) yield m;
  }

  /** The member that holds this gossip address, if any. */
  holderOf(gossip: Address): NodeId | undefined {
    for (const slot of this.#dir.slotsAt(gossip)) {
      const m = this.#rows[slot];
      if (m?.info.gossip === gossip) return m.info.id;
    }
    return undefined;
  }

  add(info: NodeInfo, liveness: Liveness, incarnation: number, now: number, proof?: Proof): MemberRecord {
    const m = newRow(info, liveness.state, incarnation, now, this.#dir.nextRow());
    if (liveness.suspicion) setLiveness(m, liveness);
    if (proof) m.proof = proof;
    return this.#hold(m);
  }

  /**
   * A member known at start (not suspect): with a shared directory, the one row every table
   * starting from the same snapshot at the same time holds, until it writes.
   */
  addSettled(s: MemberSnapshot, now: number): MemberRecord {
    const warm = this.#dir.warmRow(s, now, settledRow);
    if (!warm) return this.#hold(settledRow(s, now, this.#dir.nextRow()));
    // A table starting up: the row is indexed by the directory already, and no earlier row is held.
    const { row, slot } = warm;
    const old = this.#rows[slot];
    if (old) this.remove(old);
    this.#place(row, slot);
    if (isGone(row.state)) this.#gone.add(row);
    else this.#live?.insert(slot);
    return row;
  }

  /** The row this table holds for `m`'s member, its own: a shared row is copied first. */
  own(m: MemberRecord): MemberRecord {
    const slot = this.#dir.find(m.info.id);
    const cur = slot === undefined ? undefined : this.#rows[slot];
    if (cur === undefined || !this.#dir.isShared(cur, slot!)) return cur ?? m;
    const copy = { ...cur } as MemberRecord;
    this.#rows[slot!] = copy;
    if (this.#gone.delete(cur)) this.#gone.add(copy);
    if (this.#silent.delete(cur)) this.#silent.add(copy);
    if (this.#forced.delete(cur)) this.#forced.add(copy);
    return copy;
  }

  remove(m: MemberRecord): void {
    const id = m.info.id;
    const slot = this.#dir.find(id);
    const cur = slot === undefined ? undefined : this.#rows[slot];
    if (cur !== undefined) {
      this.#rows[slot!] = undefined;
      this.#size--;
      this.#live?.delete(slot!);
      this.#dir.unindex(cur.info.gossip, slot!);
      this.#dir.release(id, slot!);
    }
    for (const r of cur && cur !== m ? [m, cur] : [m]) {
      this.#suspects.delete(r);
      this.#gone.delete(r);
      this.#silent.delete(r);
      this.#forced.delete(r);
    }
    if (cur === undefined) this.#live = undefined;
  }

  /**
   * Our own probe of the member went unanswered (`silent`), or it proved it lives. A member that
   * is dead and silent is dead by its own silence as this node saw it, not on someone's word.
   */
  setSilent(m: MemberRecord, silent: boolean): void {
    const cur = this.get(m.info.id) ?? m;
    if (silent) this.#silent.add(cur);
    else this.#silent.delete(cur);
  }

  isSilent(m: MemberRecord): boolean {
    return this.#silent.has(this.get(m.info.id) ?? m);
  }

  /** An operator's force-leave put it in `left` (a tombstone without the member's signature). */
  setForced(m: MemberRecord): void {
    this.#forced.add(this.get(m.info.id) ?? m);
  }

  isForced(m: MemberRecord): boolean {
    return this.#forced.size > 0 && this.#forced.has(this.get(m.info.id) ?? m);
  }

  /** A member's own claim may carry a new address. */
  readdress(m: MemberRecord, info: NodeInfo): MemberRecord {
    const w = this.own(m);
    const slot = this.#dir.slotOf(info.id);
    if (w.info.gossip !== info.gossip) this.#dir.unindex(w.info.gossip, slot);
    w.info = info;
    this.#dir.index(info.gossip, slot);
    return w;
  }

  /** The proof of the member's latest own claim. */
  setProof(m: MemberRecord, proof: Proof | undefined): void {
    this.own(m).proof = proof;
  }

  setLoad(m: MemberRecord, load: LoadFigures, proof: Proof | undefined): void {
    const w = this.own(m);
    w.load = load;
    w.loadProof = proof;
  }

  /** The one place a member's liveness changes; returns the row (copied if it was shared). */
  enter(m: MemberRecord, liveness: Liveness, incarnation: number, now: number): MemberRecord {
    const w = this.own(m);
    const wasLive = isLive(w.state);
    if (liveness.state !== w.state) w.changedAt = now;
    setLiveness(w, liveness);
    w.incarnation = incarnation;
    // Any change but the force-leave itself (which marks it after) lifts the mark.
    if (this.#forced.size > 0) this.#forced.delete(w);
    if (wasLive !== isLive(w.state) && w !== this.self) {
      const slot = this.#dir.find(w.info.id);
      if (slot === undefined || this.#rows[slot] !== w) this.#live = undefined;
      else if (isLive(w.state)) this.#live?.insert(slot);
      else this.#live?.delete(slot);
    }
    this.#index(w);
    return w;
  }

  /** Alive and suspect members other than this node, in slot order (a view: read it at once). */
  live(): LiveMembers {
    return this.#liveView;
  }

  /** The places of the live members but this node, in order (a copy). */
  liveSlots(): Uint32Array {
    return this.#liveSlots().toArray();
  }

  /** The row held at a place, if any. */
  atPlace(slot: number): MemberRecord | undefined {
    return this.#rows[slot];
  }

  /** Members that are alive or suspect, this node included: the cluster size estimate. */
  get liveCount(): number {
    return this.#liveSlots().length + 1;
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

  /** Every row in slot order (`place`), and index entries that name no row of the table. */
  inspect(): { members: MemberInspection[]; strays: string[] } {
    const members = new Array<MemberInspection>(this.#size);
    const strays: string[] = [];
    const rows = this.#rows;
    let held = 0;
    for (let slot = 0; slot < rows.length; slot++) {
      const m = rows[slot];
      if (m === undefined) continue;
      members[held++] = this.#inspectRow(m, slot);
      if (this.#dir.find(m.info.id) !== slot) strays.push(`table: ${m.info.id} held in another's place`);
    }
    if (held !== members.length) {
      strays.push(`row count: ${members.length} counted, ${held} held`);
      members.length = held;
    }
    const stray = (what: string, m: MemberRecord) => this.get(m.info.id) !== m && strays.push(`${what}: ${m.info.id}`);
    for (const m of this.#gone) stray("reap set", m);
    for (const m of this.#suspects) stray("suspect index", m);
    for (const m of this.#silent) stray("silent set", m);
    for (const m of this.#forced) stray("forced set", m);
    // The cache must be exactly the places of the live rows but this node's.
    const live = this.#live;
    if (live) {
      let i = 0;
      let same = true;
      for (let slot = 0; slot < rows.length && same; slot++) {
        const m = rows[slot];
        if (m === undefined || m === this.self || !isLive(m.state)) continue;
        same = live.at(i++) === slot;
      }
      if (!same || i !== live.length) strays.push(`live cache: differs from the table's live members at ${i}`);
    }
    return { members, strays };
  }

  /** One member as an invariant checker sees it. */
  inspectMember(id: NodeId): MemberInspection | undefined {
    const slot = this.#dir.find(id);
    const m = slot === undefined ? undefined : this.#rows[slot];
    return m && this.#inspectRow(m, slot!);
  }

  #inspectRow(m: MemberRecord, slot: number): MemberInspection {
    const awaitingReap = this.#gone.has(m);
    const addressIndexed = this.#dir.aloneAt(m.info.gossip, slot) || this.holderOf(m.info.gossip) === m.info.id;
    const forced = this.#forced.size > 0 && this.#forced.has(m);
    // A shared row held as it should be looks the same in every table: one inspection for all.
    if (addressIndexed && !forced && awaitingReap === isGone(m.state))
      return this.#dir.sharedView(m, slot, () => inspectRow(m, slot, awaitingReap, true, false));
    return inspectRow(m, slot, awaitingReap, addressIndexed, forced);
  }

  #hold(m: MemberRecord): MemberRecord {
    const old = this.get(m.info.id);
    if (old) this.remove(old);
    const slot = this.#dir.slotOf(m.info.id);
    this.#place(m, slot);
    this.#dir.index(m.info.gossip, slot);
    this.#index(m);
    if (m !== this.self && isLive(m.state)) this.#live?.insert(slot);
    return m;
  }

  /** The live cache, counted again when it was dropped. Kept up to date in place: O(log N) a change, not O(N). */
  #liveSlots(): SlotList {
    if (!this.#live) {
      const rows = this.#rows;
      const live = new SlotList(this.#size);
      for (let slot = 0; slot < rows.length; slot++) {
        const m = rows[slot];
        if (m !== undefined && m !== this.self && isLive(m.state)) live.push(slot);
      }
      this.#live = live;
    }
    return this.#live;
  }

  #place(m: MemberRecord, slot: number): void {
    const rows = this.#rows;
    // Filled up to the slot: a write far past the end would make the array sparse (a hash table).
    while (rows.length < slot) rows.push(undefined);
    if (rows[slot] === undefined) this.#size++;
    rows[slot] = m;
  }

  #index(m: MemberRecord): void {
    if (m.state === "suspect") this.#suspects.add(m);
    else this.#suspects.delete(m);
    if (m !== this.self && isGone(m.state)) this.#gone.add(m);
    else this.#gone.delete(m);
  }
}
