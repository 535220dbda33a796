import type { Address, MemberInspection, MemberSnapshot, NodeId } from "./types.ts";

/**
 * Member ids numbered densely, so a member table keeps its rows in an array indexed by number
 * instead of a Map keyed by id (a Map entry costs ~120 bytes in Bun, an array slot 8: at 10 000
 * simulated nodes each holding 10 000 members that is the difference between 12 GB and 0.8 GB).
 *
 * A node has a directory of its own: a number is freed when its table forgets the member, so
 * the directory never holds more than the table does. The simulator hands one `shared`
 * directory to all its nodes: a number means the same member in every table (and is never
 * freed), and the rows of a warm start are shared by every table until one of them writes.
 */
export class MemberDirectory {
  readonly #slots = new Map<NodeId, number>();
  readonly #free: number[] = [];
  /** Gossip address → the slots of the members indexed at it (one, but for a moved or rekeyed member). */
  readonly #at = new Map<Address, number[]>();
  /** By slot: the address it was last indexed at, and that address's list. */
  readonly #addressOf: (Address | undefined)[] = [];
  readonly #listOf: (number[] | undefined)[] = [];
  #slotCount = 0;
  #rowCount = 0;
  /** Shared directories: the shared row made for each warm-start snapshot, and each row's inspection. */
  readonly #warm = new Map<MemberSnapshot, { row: object; slot: number }>();
  readonly #shared = new Set<object>();
  /** By slot: the latest shared row made for that member, and its inspection (array reads, not hashing, on hot paths). */
  readonly #sharedAt: (object | undefined)[] = [];
  readonly #viewAt: (MemberInspection | undefined)[] = [];

  /** `shared`: one directory for many tables; `sharesRows`: and the warm start's rows with it. */
  constructor(
    readonly shared = false,
    readonly sharesRows = shared,
  ) {}

  /** How many members have a number. */
  get size(): number {
    return this.#slots.size;
  }

  /** The member's number, given one if it has none. */
  slotOf(id: NodeId): number {
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = this.#free.pop() ?? this.#slotCount++;
      this.#slots.set(id, slot);
    }
    return slot;
  }

  /** The member's number, if it has one. */
  find(id: NodeId): number | undefined {
    return this.#slots.get(id);
  }

  /** A table forgot the member (a node's own directory frees its number). */
  release(id: NodeId, slot: number): void {
    if (this.shared || this.#slots.get(id) !== slot) return;
    this.#slots.delete(id);
    this.#free.push(slot);
  }

  /** A new row token: rows tell apart a member forgotten and learned again (see MemberInspection.row). */
  nextRow(): number {
    return ++this.#rowCount;
  }

  /** Slots indexed at a gossip address. */
  slotsAt(gossip: Address): readonly number[] {
    return this.#at.get(gossip) ?? NONE;
  }

  /** A table holds member `slot` at `gossip`. */
  index(gossip: Address, slot: number): void {
    let list = this.#at.get(gossip);
    if (!list) {
      list = [slot];
      this.#at.set(gossip, list);
    } else if (!list.includes(slot)) list.push(slot);
    while (this.#listOf.length <= slot) {
      this.#listOf.push(undefined);
      this.#addressOf.push(undefined);
    }
    this.#listOf[slot] = list;
    this.#addressOf[slot] = gossip;
  }

  /**
   * Is member `slot` the only one ever indexed at `gossip` (so a table holding it there holds the
   * address)? An array read, where `slotsAt` hashes the address: checked for every row of every sweep.
   */
  aloneAt(gossip: Address, slot: number): boolean {
    const list = this.#listOf[slot];
    return this.#addressOf[slot] === gossip && list !== undefined && list.length === 1 && list[0] === slot;
  }

  /** A table no longer holds member `slot` at `gossip` (a shared directory keeps it: other tables may). */
  unindex(gossip: Address, slot: number): void {
    if (this.shared) return;
    const list = this.#at.get(gossip);
    const i = list?.indexOf(slot) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.#at.delete(gossip);
  }

  /**
   * The row for a warm-start snapshot at time `now`, with its slot, when rows are shared: one
   * row for every table, made the first time. Undefined when each table makes its own.
   */
  warmRow<R extends { readonly info: { readonly id: NodeId; readonly gossip: Address }; readonly changedAt: number }>(
    s: MemberSnapshot,
    now: number,
    make: (s: MemberSnapshot, now: number, rowId: number) => R,
  ): { readonly row: R; readonly slot: number } | undefined {
    if (!this.sharesRows) return undefined;
    const w = this.#warm.get(s) as { row: R; slot: number } | undefined;
    if (w && w.row.changedAt === now) return w;
    // Frozen: a write that did not copy it first fails loudly instead of changing every table.
    const row = Object.freeze(make(s, now, this.nextRow()));
    const made = { row, slot: this.slotOf(row.info.id) };
    this.index(row.info.gossip, made.slot);
    this.#warm.set(s, made);
    this.#shared.add(row);
    while (this.#sharedAt.length <= made.slot) this.#sharedAt.push(undefined);
    this.#sharedAt[made.slot] = row;
    this.#viewAt[made.slot] = undefined;
    return made;
  }

  /** Is this row (held at `slot`) shared by several tables, to be copied before a table writes to it? */
  isShared(row: object, slot: number): boolean {
    return this.#sharedAt[slot] === row || (this.#shared.size > 0 && this.#shared.has(row));
  }

  /** The inspection of a shared row, made once for all the tables that hold it as it should be held. */
  sharedView(row: object, slot: number, make: () => MemberInspection): MemberInspection {
    if (this.#sharedAt[slot] !== row) return make();
    let v = this.#viewAt[slot];
    if (!v) {
      v = make();
      this.#viewAt[slot] = v;
    }
    return v;
  }
}

const NONE: readonly number[] = [];
