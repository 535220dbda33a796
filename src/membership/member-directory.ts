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
  #slotCount = 0;
  #rowCount = 0;
  /** Shared directories: the shared row made for each warm-start snapshot, and each row's inspection. */
  readonly #warm = new Map<MemberSnapshot, object>();
  readonly #shared = new Set<object>();
  readonly #views = new Map<object, MemberInspection>();

  /** `shared`: one directory for many tables; `sharesRows`: and the warm start's rows with it. */
  constructor(
    readonly shared = false,
    readonly sharesRows = shared,
  ) {}

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
    const list = this.#at.get(gossip);
    if (!list) this.#at.set(gossip, [slot]);
    else if (!list.includes(slot)) list.push(slot);
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
   * The row for a warm-start snapshot: one row shared by every table of a shared directory
   * (made by `make` the first time, and again when the one made before no longer `fits`), a
   * fresh one otherwise.
   */
  warmRow<R extends object>(s: MemberSnapshot, fits: (r: R) => boolean, make: () => R): R {
    if (!this.sharesRows) return make();
    const r = this.#warm.get(s) as R | undefined;
    if (r && fits(r)) return r;
    // Frozen: a write that did not copy it first fails loudly instead of changing every table.
    const made = Object.freeze(make());
    this.#warm.set(s, made);
    this.#shared.add(made);
    return made;
  }

  /** Is this row shared by several tables (to be copied before a table writes to it)? */
  isShared(row: object): boolean {
    return this.#shared.size > 0 && this.#shared.has(row);
  }

  /** The inspection of a shared row, made once for all the tables that hold it as it should be held. */
  sharedView(row: object, make: () => MemberInspection): MemberInspection {
    let v = this.#views.get(row);
    if (!v) {
      v = make();
      this.#views.set(row, v);
    }
    return v;
  }
}

const NONE: readonly number[] = [];
