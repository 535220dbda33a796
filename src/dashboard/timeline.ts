/**
 * The dashboard's event timeline: membership events and forwarded requests turned into short
 * entries, with the most recent kept for clients that connect later. Pure apart from the clock
 * the caller passes.
 */
import type { MemberEvent } from "../membership/types.ts";

export type TimelineKind = "joined" | "suspect" | "alive" | "refuted" | "dead" | "left" | "rejoined" | "updated" | "forward";

export interface TimelineEntry {
  /** Wall-clock ms. */
  at: number;
  kind: TimelineKind;
  /** The member the entry is about (for forwards: the node that forwarded). */
  id: string;
  name: string;
  addr: string;
  text: string;
  /** Member events: the member's incarnation (with kind and id it names the fact, whoever saw it). */
  incarnation?: number;
}

const VERB: Record<MemberEvent["type"], string> = {
  joined: "joined",
  suspect: "is suspected",
  alive: "is alive again (suspicion refuted)",
  refuted: "refuted a suspicion about itself",
  dead: "is dead",
  left: "left",
  rejoined: "rejoined",
  updated: "updated its claim",
};

/** `nameOf` turns the reporter's node id into its name when known. */
export function memberEntry(e: MemberEvent, now: number, nameOf: (id: string) => string | undefined = () => undefined): TimelineEntry {
  const m = e.member;
  const extra = [e.by ? `by ${nameOf(e.by) ?? e.by}` : "", e.reason ?? ""].filter(Boolean).join(", ");
  return {
    at: now,
    kind: e.type,
    id: m.info.id,
    name: m.info.name,
    addr: m.info.http,
    incarnation: m.incarnation,
    text: `${m.info.name} ${VERB[e.type]} (incarnation ${m.incarnation}${extra ? `; ${extra}` : ""})`,
  };
}

/** Forwards come by the thousand; they are summed per destination and flushed as one entry each. */
export class ForwardTally {
  #counts = new Map<string, number>();

  add(to: string): void {
    this.#counts.set(to, (this.#counts.get(to) ?? 0) + 1);
  }

  /** `nameOf` turns a destination address into a node name when known. */
  flush(now: number, self: { id: string; name: string; addr: string }, nameOf: (addr: string) => string | undefined = () => undefined): TimelineEntry[] {
    const out = [...this.#counts].map(
      ([to, n]): TimelineEntry => ({
        at: now,
        kind: "forward",
        id: self.id,
        name: self.name,
        addr: self.addr,
        text: `${self.name} forwarded ${n} request${n === 1 ? "" : "s"} to ${nameOf(to) ?? to}`,
      }),
    );
    this.#counts.clear();
    return out;
  }
}

/** Fixed-size ring of the latest entries, oldest first. */
export class RecentEntries {
  #items: TimelineEntry[] = [];
  constructor(private readonly max = 200) {}
  push(e: TimelineEntry): void {
    this.#items.push(e);
    if (this.#items.length > this.max) this.#items.splice(0, this.#items.length - this.max);
  }
  list(): TimelineEntry[] {
    return [...this.#items];
  }
}
