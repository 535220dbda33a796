import { hasTags } from "../membership/tags.ts";
import type { Member, Tags } from "../membership/types.ts";
import type { Candidate } from "./balancer.ts";

/**
 * Estimates of the other members' backlogs: the last figure each one gossiped, plus whatever we
 * forwarded to it since. The forwarded work matters: without it a stale low figure draws every
 * forward until the next update (the herding the seed suffered). Figures are not decayed in
 * between: a busy peer also gets work from others, and assuming it drains at full capacity
 * made overloaded peers look idle. Peers publish when their backlog moved (publish-policy), so
 * a figure is at most about a probe interval old.
 *
 * A new figure is a claim, taken within reason: no peer works faster than its (counted)
 * capacity, so it cannot be below our estimate minus capacity x the time since. A member that
 * says "backlog 0" after every packet we give it does not draw them all.
 */
interface Estimate {
  version: number;
  backlog: number;
  /** When `backlog` was last set or added to. */
  at: number;
}

export class PeerLoads {
  readonly #seen = new Map<string, Estimate>();
  readonly #now: () => number;
  /** Figures raised to the floor: claims of having done more work than capacity allows. */
  floored = 0;

  /** `prefer`: candidates carrying these tags are marked preferred (the router keeps work among them). */
  constructor(
    private readonly prefer?: Tags,
    now: () => number = () => performance.now(),
  ) {
    this.#now = now;
  }

  /** Alive (not suspect, dead or left) members other than `selfId`, with estimated ratios. */
  candidates(members: readonly Readonly<Member>[], selfId: string): Candidate[] {
    const out: Candidate[] = [];
    for (const m of members) {
      if (m.state !== "alive" || m.info.id === selfId || !(m.info.capacity > 0)) continue;
      const e = this.#observe(m);
      const c: Candidate = { id: m.info.id, http: m.info.http, capacity: m.info.capacity, ratio: e.backlog / m.info.capacity };
      out.push(this.prefer ? { ...c, preferred: hasTags(m.info.tags, this.prefer) } : c);
    }
    return out;
  }

  /** Count work we just handed to `id`. */
  sent(id: string, units: number): void {
    const e = this.#seen.get(id);
    if (!e) return;
    e.backlog += units;
    e.at = this.#now();
  }

  /** Forget members that are gone (keeps the map bounded by the member table). */
  prune(keep: (id: string) => boolean): void {
    for (const id of this.#seen.keys()) if (!keep(id)) this.#seen.delete(id);
  }

  #observe(m: Readonly<Member>): Estimate {
    const version = m.load?.version ?? -1;
    let e = this.#seen.get(m.info.id);
    if (!e || e.version !== version) {
      const now = this.#now();
      const claimed = m.load?.backlog ?? 0;
      const floor = e ? e.backlog - (m.info.capacity * (now - e.at)) / 1000 : 0;
      if (floor > claimed) this.floored++;
      e = { version, backlog: Math.max(claimed, floor), at: now };
      this.#seen.set(m.info.id, e);
    }
    return e;
  }
}
