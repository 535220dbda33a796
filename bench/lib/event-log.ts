/**
 * Membership events as the agents report them in their logs, stamped on arrival, and each
 * observer's resulting view of the others. Members and observers are keyed by port.
 */

export type ViewState = "alive" | "suspect" | "dead" | "left";
/**
 * `suspect-origin`: the observer itself suspected the member (its own probe failed);
 * `tcp-fallback`: Serf's probe failed over UDP but a TCP ping got through, so it did not suspect.
 */
export type EventType = ViewState | "suspect-origin" | "refuted" | "tcp-fallback";

export interface BenchEvent {
  readonly at: number;
  readonly observer: number;
  readonly member: number;
  readonly type: EventType;
  /** Why, when the agent says (D-SEF: "connection refused", "suspicion timeout", …). */
  readonly reason?: string;
}

export class EventLog {
  readonly events: BenchEvent[] = [];
  readonly #views = new Map<number, Map<number, ViewState>>();

  record(e: BenchEvent): void {
    this.events.push(e);
    if (e.type === "suspect-origin" || e.type === "refuted" || e.type === "tcp-fallback") return;
    let v = this.#views.get(e.observer);
    if (!v) this.#views.set(e.observer, (v = new Map()));
    v.set(e.member, e.type);
  }

  state(observer: number, member: number): ViewState | undefined {
    return this.#views.get(observer)?.get(member);
  }

  /** Does every observer see every member (other than itself) in `state`? */
  allSee(observers: readonly number[], members: readonly number[], state: ViewState): boolean {
    return observers.every((o) => members.every((m) => m === o || this.state(o, m) === state));
  }

  /** Earliest event of one of `types` about `member` at or after `since`. */
  first(member: number, types: readonly EventType[], since: number): BenchEvent | undefined {
    let best: BenchEvent | undefined;
    for (const e of this.events) {
      if (e.at >= since && e.member === member && types.includes(e.type) && (!best || e.at < best.at)) best = e;
    }
    return best;
  }

  since(t: number): BenchEvent[] {
    return this.events.filter((e) => e.at >= t);
  }
}
