import TinyQueue from "tinyqueue";

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Virtual time: a queue of callbacks run in time order (ties in scheduling order). */
export class VirtualClock {
  #now = 0;
  #seq = 0;
  readonly #queue = new TinyQueue<Scheduled>([], (a, b) => a.at - b.at || a.seq - b.seq);

  get now(): number {
    return this.#now;
  }

  at(time: number, run: () => void): void {
    this.#queue.push({ at: Math.max(time, this.#now), seq: this.#seq++, run });
  }

  after(delay: number, run: () => void): void {
    this.at(this.#now + delay, run);
  }

  /** Run everything scheduled up to and including `time`, then stand at `time`. */
  runUntil(time: number): void {
    for (;;) {
      const next = this.#queue.peek();
      if (!next || next.at > time) break;
      this.#queue.pop();
      this.#now = next.at;
      next.run();
    }
    this.#now = time;
  }
}
