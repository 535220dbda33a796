import { suspicionMinMs, type Timing } from "../membership/timing.ts";
import type { Member, MemberState, NodeId, NodeInfo } from "../membership/types.ts";

/**
 * Safety rules a membership core must keep after every step, checked by the simulator so a
 * failing seed names the first bad step instead of a wrong end state. Read only through the
 * core's public accessors.
 *
 *   self-alive            a node holds itself, alive (left once it leaves), at its own incarnation
 *   self-incarnation      a node's own incarnation never decreases
 *   table                 every member is found under its own id, in a known state, at a whole incarnation
 *   live-count            the cluster size estimate matches the table
 *   incarnation           a member's incarnation never decreases while it stays in the table
 *   suspicion-deadline    no one stays suspect (at one incarnation) past the longest suspicion timeout:
 *                         every suspect has a deadline, and it fires
 *   reaped                dead and left members leave the table after their retention
 */
export interface CoreView {
  readonly self: NodeInfo;
  readonly incarnation: number;
  readonly leaving: boolean;
  readonly liveCount: number;
  members(): readonly Readonly<Member>[];
  member(id: NodeId): Readonly<Member> | undefined;
}

export interface Violation {
  readonly rule: string;
  readonly detail: string;
}

export interface Limits {
  /** The longest a suspicion can last (its timeout with no confirmation, in the largest cluster). */
  readonly longestSuspicionMs: number;
  readonly deadRetentionMs: number;
  readonly leftRetentionMs: number;
  /** Reaping runs once per probe round, and a slow node stretches its rounds. */
  readonly reapSlackMs: number;
}

export function limitsFor(t: Timing, maxMembers: number): Limits {
  return {
    longestSuspicionMs: t.suspicionMaxMult * suspicionMinMs(t, maxMembers) + 1,
    deadRetentionMs: t.deadRetentionMs,
    leftRetentionMs: t.leftRetentionMs,
    reapSlackMs: (t.maxAwareness + 1) * t.probeIntervalMs + 1,
  };
}

const STATES: ReadonlySet<MemberState> = new Set(["alive", "suspect", "dead", "left"]);

/**
 * What one observer looked like at its previous step, for the rules about change. Members are
 * indexed by a slot (the simulator's node index) so a cluster of N costs O(N) numbers per node.
 */
export class ObserverHistory {
  selfIncarnation = -1;
  /** The member object last seen in each slot: another object means it left the table and came back. */
  readonly #seen: (Readonly<Member> | undefined)[];
  readonly #incarnation: Float64Array;
  readonly #suspectIncarnation: Float64Array;
  readonly #suspectSince: Float64Array;

  constructor(slots: number) {
    this.#seen = new Array(slots);
    this.#incarnation = new Float64Array(slots);
    this.#suspectIncarnation = new Float64Array(slots).fill(-1);
    this.#suspectSince = new Float64Array(slots);
  }

  /** Check one member against what was seen of it before, and remember it. */
  member(slot: number, m: Readonly<Member>, now: number, limits: Limits): Violation | undefined {
    const same = this.#seen[slot] === m;
    if (same && m.incarnation < this.#incarnation[slot]!) {
      return { rule: "incarnation", detail: `${m.info.id} went from incarnation ${this.#incarnation[slot]} to ${m.incarnation}` };
    }
    this.#seen[slot] = m;
    this.#incarnation[slot] = m.incarnation;
    if (m.state !== "suspect") {
      this.#suspectIncarnation[slot] = -1;
      return undefined;
    }
    if (!same || this.#suspectIncarnation[slot] !== m.incarnation) {
      this.#suspectIncarnation[slot] = m.incarnation;
      this.#suspectSince[slot] = now;
      return undefined;
    }
    const age = now - this.#suspectSince[slot]!;
    if (age > limits.longestSuspicionMs) {
      return {
        rule: "suspicion-deadline",
        detail: `${m.info.id} suspect at incarnation ${m.incarnation} for ${age} ms (longest timeout ${limits.longestSuspicionMs} ms)`,
      };
    }
    return undefined;
  }
}

/** A node holds itself, alive (left once leaving), at its own incarnation, which never decreases. */
export function checkSelf(core: CoreView, history: ObserverHistory): Violation | undefined {
  const me = core.member(core.self.id);
  if (!me) return { rule: "self-alive", detail: "the node does not hold itself" };
  const want: MemberState = core.leaving ? "left" : "alive";
  if (me.state !== want) return { rule: "self-alive", detail: `the node holds itself ${me.state}${core.leaving ? " while leaving" : ""}` };
  if (me.incarnation !== core.incarnation)
    return { rule: "self-alive", detail: `its own entry is at incarnation ${me.incarnation}, it is at ${core.incarnation}` };
  if (core.incarnation < history.selfIncarnation) {
    return { rule: "self-incarnation", detail: `went from ${history.selfIncarnation} to ${core.incarnation}` };
  }
  history.selfIncarnation = core.incarnation;
  return undefined;
}

/** The rules about one member of the observer's table. */
export function checkMember(
  core: CoreView,
  m: Readonly<Member>,
  now: number,
  history: ObserverHistory,
  slotOf: (id: NodeId) => number | undefined,
  limits: Limits,
): Violation | undefined {
  const id = m.info.id;
  if (core.member(id) !== m) return { rule: "table", detail: `${id} is not found under its own id` };
  if (!STATES.has(m.state)) return { rule: "table", detail: `${id} is in unknown state ${String(m.state)}` };
  if (!Number.isSafeInteger(m.incarnation) || m.incarnation < 0) return { rule: "table", detail: `${id} has incarnation ${m.incarnation}` };
  if (id === core.self.id) return undefined;
  if ((m.state === "dead" || m.state === "left") && !core.leaving) {
    const keep = m.state === "dead" ? limits.deadRetentionMs : limits.leftRetentionMs;
    if (now - m.changedAt > keep + limits.reapSlackMs)
      return { rule: "reaped", detail: `${id} ${m.state} since ${m.changedAt} ms, kept past its ${keep} ms retention` };
  }
  const slot = slotOf(id);
  return slot === undefined ? undefined : history.member(slot, m, now, limits);
}

/** Every rule over the observer's whole table; the first violation found, if any. */
export function checkCore(
  core: CoreView,
  now: number,
  history: ObserverHistory,
  slotOf: (id: NodeId) => number | undefined,
  limits: Limits,
): Violation | undefined {
  const v = checkSelf(core, history);
  if (v) return v;
  let live = 1;
  for (const m of core.members()) {
    const bad = checkMember(core, m, now, history, slotOf, limits);
    if (bad) return bad;
    if (m.info.id !== core.self.id && (m.state === "alive" || m.state === "suspect")) live++;
  }
  if (core.liveCount !== live) return { rule: "live-count", detail: `liveCount says ${core.liveCount}, the table holds ${live} alive or suspect` };
  return undefined;
}
