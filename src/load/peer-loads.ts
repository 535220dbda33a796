import type { Member } from "../membership/types.ts";
import type { Candidate } from "./balancer.ts";

/**
 * Estimates of the other members' backlogs from the figures the membership core gossips. A
 * figure is a snapshot; between two figures the peer keeps draining at its capacity, and it
 * also gets whatever we forwarded to it since. Each estimate is a small fluid queue of its own,
 * reset whenever a newer figure arrives, so a stale low figure does not draw every forward until
 * the next update (the herding the seed suffered). Times are local (receipt), so clock skew
 * between hosts does not matter.
 */
interface Estimate {
  version: number;
  backlog: number;
  at: number;
}

export class PeerLoads {
  readonly #seen = new Map<string, Estimate>();

  /** Alive (not suspect, dead or left) members other than `selfId`, with estimated ratios. */
  candidates(now: number, members: readonly Readonly<Member>[], selfId: string): Candidate[] {
    const out: Candidate[] = [];
    for (const m of members) {
      if (m.state !== "alive" || m.info.id === selfId || !(m.info.capacity > 0)) continue;
      const e = this.#observe(now, m);
      out.push({ id: m.info.id, http: m.info.http, capacity: m.info.capacity, ratio: e.backlog / m.info.capacity });
    }
    return out;
  }

  /** Count work we just handed to `id` (a member with `capacity`). */
  sent(now: number, id: string, capacity: number, units: number): void {
    const e = this.#seen.get(id);
    if (!e) return;
    drain(e, capacity, now);
    e.backlog += units;
  }

  /** Forget members that are gone (keeps the map bounded by the member table). */
  prune(keep: (id: string) => boolean): void {
    for (const id of this.#seen.keys()) if (!keep(id)) this.#seen.delete(id);
  }

  #observe(now: number, m: Readonly<Member>): Estimate {
    const version = m.load?.version ?? -1;
    let e = this.#seen.get(m.info.id);
    if (!e || e.version !== version) {
      e = { version, backlog: m.load?.backlog ?? 0, at: now };
      this.#seen.set(m.info.id, e);
    } else drain(e, m.info.capacity, now);
    return e;
  }
}

function drain(e: Estimate, capacity: number, now: number): void {
  if (now <= e.at) return;
  e.backlog = Math.max(0, e.backlog - (capacity * (now - e.at)) / 1000);
  e.at = now;
}
