/**
 * A sorted set of member numbers (slots) in a typed array that grows by doubling: the member
 * table's live members. Four bytes a member and nothing for the garbage collector to scan, where
 * an array of rows costs eight and is scanned at every full collection (at 10 000 simulated
 * nodes, 10⁸ entries either way).
 */
export class SlotList {
  #slots: Uint32Array;
  #length = 0;

  constructor(capacity = 0) {
    this.#slots = new Uint32Array(Math.max(4, capacity));
  }

  get length(): number {
    return this.#length;
  }

  /** The i-th slot in ascending order. */
  at(i: number): number | undefined {
    return i >= 0 && i < this.#length ? this.#slots[i] : undefined;
  }

  /** Appends a slot above every slot held (a list built in order). */
  push(slot: number): void {
    this.#room(1);
    this.#slots[this.#length++] = slot;
  }

  has(slot: number): boolean {
    const i = this.#lowerBound(slot);
    return i < this.#length && this.#slots[i] === slot;
  }

  insert(slot: number): void {
    const i = this.#lowerBound(slot);
    if (i < this.#length && this.#slots[i] === slot) return;
    this.#room(1);
    this.#slots.copyWithin(i + 1, i, this.#length);
    this.#slots[i] = slot;
    this.#length++;
  }

  delete(slot: number): void {
    const i = this.#lowerBound(slot);
    if (i >= this.#length || this.#slots[i] !== slot) return;
    this.#slots.copyWithin(i, i + 1, this.#length);
    this.#length--;
  }

  /** A copy of the slots, in ascending order. */
  toArray(): Uint32Array {
    return this.#slots.slice(0, this.#length);
  }

  #lowerBound(slot: number): number {
    let lo = 0;
    let hi = this.#length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#slots[mid]! < slot) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #room(more: number): void {
    if (this.#length + more <= this.#slots.length) return;
    const grown = new Uint32Array(Math.max(this.#length + more, this.#slots.length * 2));
    grown.set(this.#slots.subarray(0, this.#length));
    this.#slots = grown;
  }
}
