import type { Member } from "../membership/types.ts";
import type { Candidate } from "./balancer.ts";

/**
 * Estimates of the other members' backlogs from the figures the membership core gossips. A
 * figure is a snapshot; between two figures the peer keeps draining at its capacity, and it
 * also gets whatever we forwarded to it since. Both are accounted for here, so a stale low
 * figure does not draw every forward until the next update (the herding the seed suffered).
 * Times are local receipt times, so clock skew between hosts does not matter.
 */
interface Seen {
  version: number;
  backlog: number;
  receivedAt: number;
  /** Units forwarded to the peer since this figure arrived. */
  sent: number;
}

export class PeerLoads {
  readonly #seen = new Map<string, Seen>();

  /** Alive (not suspect, dead or left) members other than `selfId`, with estimated ratios. */
  candidates(now: number, members: readonly Readonly<Member>[], selfId: string): Candidate[] {
    const out: Candidate[] = [];
    for (const m of members) {
      if (m.state !== "alive" || m.info.id === selfId || !(m.info.capacity > 0)) continue;
      const s = this.#observe(now, m);
      const drained = (m.info.capacity * (now - s.receivedAt)) / 1000;
      const backlog = Math.max(0, s.backlog + s.sent - drained);
      out.push({ id: m.info.id, http: m.info.http, capacity: m.info.capacity, ratio: backlog / m.info.capacity });
    }
    return out;
  }

  /** Count work we just handed to `id`. */
  sent(id: string, units: number): void {
    const s = this.#seen.get(id);
    if (s) s.sent += units;
  }

  /** Forget members that are gone (keeps the map bounded by the member table). */
  prune(keep: (id: string) => boolean): void {
    for (const id of this.#seen.keys()) if (!keep(id)) this.#seen.delete(id);
  }

  #observe(now: number, m: Readonly<Member>): Seen {
    const version = m.load?.version ?? -1;
    let s = this.#seen.get(m.info.id);
    if (!s || s.version !== version) {
      s = { version, backlog: m.load?.backlog ?? 0, receivedAt: now, sent: 0 };
      this.#seen.set(m.info.id, s);
    }
    return s;
  }
}
