/**
 * The core keeps every timer as data. Each mechanism lists its timers to a visitor, and both
 * "what is due now" and "when to wake up next" are read from that one list, so they cannot
 * disagree. (A visitor rather than an array or a generator: the core is called millions of
 * times in a large simulation, and this allocates nothing.)
 */

/** One timer: due at `at`; `fire(now, subject)` runs it and must move it past `now` or drop it. */
export type Visit = <S>(at: number, fire: (now: number, subject: S) => void, subject: S) => void;

export class Deadlines {
  #now = 0;
  #min = Number.POSITIVE_INFINITY;
  #fired = false;

  /** `list` names every timer, in the order they run, reading the state as it is at each step. */
  constructor(private readonly list: (visit: Visit) => void) {}

  /**
   * Fire every timer due at `now`, in list order (each sees what the ones before it did), and
   * return the earliest deadline left: when to be called next.
   */
  runDue(now: number): number {
    this.#now = now;
    this.#min = Number.POSITIVE_INFINITY;
    this.#fired = false;
    this.list(this.#fireOrTakeMin);
    // A timer that fired may have moved others (a death brings gossip forward): read them again.
    return this.#fired ? this.earliest() : this.#min;
  }

  /** The earliest deadline, or +Infinity when there is none. */
  earliest(): number {
    this.#min = Number.POSITIVE_INFINITY;
    this.list(this.#takeMin);
    return this.#min;
  }

  readonly #fireOrTakeMin: Visit = (at, fire, subject) => {
    if (this.#now >= at) {
      this.#fired = true;
      fire(this.#now, subject);
    } else if (at < this.#min) this.#min = at;
  };

  readonly #takeMin: Visit = (at) => {
    if (at < this.#min) this.#min = at;
  };
}

/** A periodic timer: when due it moves itself one period on, then runs. */
export class Round {
  constructor(
    public at: number,
    private readonly period: () => number,
    private readonly run: (now: number) => void,
  ) {}

  readonly fire = (now: number): void => {
    this.at = now + this.period();
    this.run(now);
  };
}
