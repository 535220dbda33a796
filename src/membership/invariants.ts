/**
 * Invariants of the SWIM core, checked from the outside on `Swim.inspect()` views: pure
 * functions (no I/O, no clock), so a simulator can run them after every step and name the first
 * bad one. The rules, by where they look:
 *
 *   the node    time and leaving only go forward; wakeAt is after the last call (no due timer
 *               left unrun) and not in the past (the driver did not oversleep); a probe has a deadline
 *   a member    self-alive; a known state at a whole incarnation, below the clock's ceiling; every suspect has a deadline that
 *               has not passed, only suspects have one, and no suspicion outlives the longest
 *               timeout or restarts at one incarnation; the reap set holds exactly the dead and
 *               left, who are reaped on time; the address index leads back to it; between checks
 *               its incarnation never goes down and its state only moves up at one incarnation;
 *               it is never held above its owner's incarnation, nor left unless its owner left (or an
 *               operator forced it)
 *   the table   the node holds itself; the live count matches; no index names a missing member;
 *               a member leaves the table only when reaped or pruned (dead or left) or replaced
 */
import { incarnationCeiling } from "./incarnation.ts";
import { suspicionMinMs, type Timing } from "./timing.ts";
import type { Inspection, InspectionHead, MemberInspection, MemberState, NodeId } from "./types.ts";

export interface Violation {
  /** The node whose state breaks the rule. */
  readonly node: NodeId;
  readonly rule: string;
  readonly message: string;
}

/** Bounds from the timing, for the rules about how long something may last. */
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

/** What the owner of an identity has done, over every run of it, for the cross-node rules. */
export interface OwnerView {
  /** The highest incarnation it has given itself. */
  readonly incarnation: number;
  /** It has left (or is leaving). */
  readonly leaving: boolean;
}

export interface CheckOptions {
  /** The driver's clock: a started, running node must not be left asleep past a deadline. */
  readonly now?: number;
  /** How far `wakeAt` may lag `now` (one driver step); default 0. */
  readonly slackMs?: number;
  /** With them, the rules about durations (suspicions, reaping) are checked too. */
  readonly limits?: Limits;
  /** With it, the rules across nodes: incarnations are minted only by their owner, `left` only by the leaver. */
  readonly owner?: (id: NodeId) => OwnerView | undefined;
}

/**
 * What a checker saw of one core at its previous check, for the rules about change. A new core
 * (a restart) needs a new history. It holds the list of the last full check as it was given
 * (no index of its own: at 10 000 simulated nodes a Map per node would hold 10⁸ entries) and
 * the members checked one by one since.
 */
export class CoreHistory {
  head: InspectionHead | undefined;
  /** The table at the last full check, in table order. */
  #list: readonly MemberInspection[] | undefined;
  /** Members checked one by one since the last full check (newer than the list). */
  readonly #seen = new Map<NodeId, MemberInspection>();
  /** The list by id, for lists without places (built when first needed). */
  #byId: Map<NodeId, MemberInspection> | undefined;
  /** Rows seen replaced between full checks: judged at the next full check, which sees every address. */
  readonly #replaced: MemberInspection[] = [];

  /** A history whose previous check saw `prev` (for checks of two given inspections). */
  static of(prev: Inspection): CoreHistory {
    const h = new CoreHistory();
    h.head = prev;
    h.#list = prev.members;
    return h;
  }

  /** The member as last checked; `index` (its index in the table's list now) is a hint: tables rarely reorder. */
  get(m: Pick<MemberInspection, "id" | "place">, index = -1): MemberInspection | undefined {
    if (this.#seen.size > 0) {
      const seen = this.#seen.get(m.id);
      if (seen) return seen;
    }
    const list = this.#list;
    if (!list) return undefined;
    const hinted = list[index];
    if (hinted !== undefined && hinted.id === m.id) return hinted;
    if (m.place !== undefined && list[0]?.place !== undefined) {
      const p = atPlace(list, m.place);
      // Another member at its place: the table forgot it (a node's own directory reuses places).
      return p?.id === m.id ? p : undefined;
    }
    if (!this.#byId) {
      this.#byId = new Map();
      for (const p of list) this.#byId.set(p.id, p);
    }
    return this.#byId.get(m.id);
  }

  /** Remember `m` (a per-member check), keeping a replaced row of its id for the next full check. */
  see(m: MemberInspection): void {
    const before = this.get(m);
    if (before && before.row !== m.row) this.#replaced.push(before);
    this.#seen.set(m.id, m);
  }

  /** Remember a full check of `cur`; returns the rows seen before that it no longer holds. */
  settle(cur: Inspection): MemberInspection[] {
    const gone = this.#replaced.splice(0);
    const list = this.#list;
    const now = cur.members;
    const seen = this.#seen;
    if (list !== undefined && !sameRows(list, now)) {
      const listed = seen.size > 0 ? list.filter((p) => !seen.has(p.id)) : list;
      missingFrom(now, listed, gone);
    }
    if (seen.size > 0) missingFrom(now, [...seen.values()], gone);
    this.head = cur;
    this.#list = now;
    this.#seen.clear();
    this.#byId = undefined;
    return gone;
  }
}

const sameRows = (a: readonly MemberInspection[], b: readonly MemberInspection[]): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.row !== b[i]!.row || a[i]!.id !== b[i]!.id) return false;
  return true;
};

/** The member of a list in place order at `place` (binary search). */
function atPlace(list: readonly MemberInspection[], place: number): MemberInspection | undefined {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = list[mid]!.place!;
    if (p === place) return list[mid];
    if (p < place) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** Appends to `out` the members of `before` whose row `now` no longer holds. */
function missingFrom(now: readonly MemberInspection[], before: readonly MemberInspection[], out: MemberInspection[]): void {
  if (now[0]?.place !== undefined && before.every((p) => p.place !== undefined)) {
    for (const p of before) {
      const q = atPlace(now, p.place!);
      if (q === undefined || q.id !== p.id || q.row !== p.row) out.push(p);
    }
    return;
  }
  const rows = new Map<NodeId, unknown>();
  for (const m of now) rows.set(m.id, m.row);
  for (const p of before) if (rows.get(p.id) !== p.row) out.push(p);
}

/** Rank at equal incarnation (SWIM's precedence): a state only ever moves up it. */
const rank: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

type Fail = (rule: string, message: string) => void;

const collector = (node: NodeId): { out: Violation[]; fail: Fail } => {
  const out: Violation[] = [];
  return { out, fail: (rule, message) => out.push({ node, rule, message }) };
};

/**
 * Every rule over one core's whole state. With `history`, also the rules about change since its
 * previous check, and `history` then holds this one.
 */
export function checkNode(cur: Inspection, history?: CoreHistory, opts: CheckOptions = {}): Violation[] {
  const { out, fail } = collector(cur.self);
  headRules(cur, history?.head, opts, fail);
  let live = 1;
  let self = false;
  const members = cur.members;
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    if (m.id === cur.self) self = true;
    else if (m.state === "alive" || m.state === "suspect") live++;
    memberRules(cur, m, history?.get(m, i), opts, fail);
  }
  if (!self) fail("self-known", "its own row is missing from its table");
  for (const s of cur.strays) fail("index-stray", `an index names a member the table does not hold (${s})`);
  if (cur.liveCount !== live) fail("live-count", `liveCount says ${cur.liveCount}, the table has ${live} live members`);
  const gone = history?.settle(cur) ?? [];
  if (gone.length === 0) return out;
  const holders = new Map<string, NodeId>();
  for (const m of members) holders.set(m.gossip, m.id);
  for (const p of gone) {
    // The row is gone (maybe learned again as a new row): only reaping or a new identity on its address removes one.
    const holder = holders.get(p.gossip);
    const replaced = holder !== undefined && holder !== p.id;
    if (p.state !== "dead" && p.state !== "left" && !replaced)
      fail("removed-only-when-gone", `${p.id} (${p.state}) left the table without being reaped or replaced`);
  }
  return out;
}

/**
 * The rules a step can break in the members it changed, at a cost independent of the table's
 * size: the node, its own row and the given members (`inspect` reads one member; an id it no
 * longer holds is judged at the next `checkNode`). Records them in `history`.
 */
export function checkMembers(
  head: InspectionHead,
  ids: Iterable<NodeId>,
  inspect: (id: NodeId) => MemberInspection | undefined,
  history: CoreHistory,
  opts: CheckOptions = {},
): Violation[] {
  const { out, fail } = collector(head.self);
  headRules(head, history.head, opts, fail);
  history.head = head;
  const one = (id: NodeId) => {
    const m = inspect(id);
    if (!m) return id === head.self && fail("self-known", "its own row is missing from its table");
    memberRules(head, m, history.get(m), opts, fail);
    history.see(m);
  };
  one(head.self);
  for (const id of ids) if (id !== head.self) one(id);
  return out;
}

/** The rules over the node alone, between its steps (a node never woken would take no step to check). */
export function checkHead(cur: InspectionHead, opts: CheckOptions = {}): Violation[] {
  const { out, fail } = collector(cur.self);
  headRules(cur, undefined, opts, fail);
  return out;
}

function headRules(cur: InspectionHead, prev: InspectionHead | undefined, opts: CheckOptions, fail: Fail): void {
  const last = cur.lastCallAt;
  if (Number.isNaN(cur.wakeAt)) fail("wake-at", "wakeAt is NaN");
  else if (last !== undefined && cur.wakeAt <= last)
    fail("wake-at", `asks to wake at ${cur.wakeAt}, not after its last call at ${last}: a due timer did not run`);
  if (opts.now !== undefined && last !== undefined && cur.wakeAt < opts.now - (opts.slackMs ?? 0))
    fail("overslept", `wakeAt ${cur.wakeAt} is in the past at ${opts.now}: the driver missed a wake-up`);
  if (cur.probe && !Number.isFinite(cur.probe.deadline)) fail("probe-deadline", `the probe of ${cur.probe.target} has no deadline`);
  if (!prev) return;
  if (prev.lastCallAt !== undefined && (last === undefined || last < prev.lastCallAt)) fail("time", `time went back from ${prev.lastCallAt} to ${last}`);
  if (prev.leaving && !cur.leaving) fail("leaving-final", "stopped leaving");
}

function memberRules(head: InspectionHead, m: MemberInspection, prev: MemberInspection | undefined, opts: CheckOptions, fail: Fail): void {
  const isSelf = m.id === head.self;
  if (isSelf && (head.leaving ? m.state !== "left" : m.state !== "alive")) {
    fail("self-alive", `holds itself ${m.state} at incarnation ${m.incarnation}${head.leaving ? " while leaving" : " without leaving"}`);
  }
  if (!(m.state in rank)) fail("table", `${m.id} is in unknown state ${String(m.state)}`);
  if (!Number.isSafeInteger(m.incarnation) || m.incarnation < 0) fail("table", `${m.id} has incarnation ${m.incarnation}`);

  const limits = opts.limits;
  const now = opts.now ?? head.lastCallAt;
  // +1: a restart may start one above a previous life held at the ceiling.
  if (now !== undefined && m.incarnation > incarnationCeiling(now) + 1)
    fail("incarnation-ceiling", `${m.id} is held at incarnation ${m.incarnation}, beyond the clock's ceiling`);
  if (m.state === "suspect") {
    const deadline = m.suspicionDeadline;
    if (deadline === undefined || !Number.isFinite(deadline)) fail("suspect-has-deadline", `${m.id} is suspect with no suspicion deadline`);
    else if (head.lastCallAt !== undefined && deadline <= head.lastCallAt)
      fail("suspicion-overdue", `${m.id}'s suspicion ran out at ${deadline} but it is still suspect at ${head.lastCallAt}`);
    else if (limits && m.suspicionStartedAt !== undefined && deadline - m.suspicionStartedAt > limits.longestSuspicionMs)
      fail("suspicion-too-long", `${m.id}'s suspicion lasts ${deadline - m.suspicionStartedAt} ms, longer than any timeout (${limits.longestSuspicionMs} ms)`);
  } else if (m.suspicionDeadline !== undefined) fail("deadline-only-on-suspects", `${m.id} is ${m.state} but holds a suspicion deadline`);

  const gone = !isSelf && (m.state === "dead" || m.state === "left");
  if (gone !== m.awaitingReap) fail("reap-set", `${m.id} is ${m.state}${isSelf ? " (self)" : ""} but ${m.awaitingReap ? "is" : "is not"} in the reap set`);
  // A leaving node stops its rounds, reaping included.
  if (gone && limits && now !== undefined && !head.leaving) {
    const keep = m.state === "dead" ? limits.deadRetentionMs : limits.leftRetentionMs;
    if (now - m.changedAt > keep + limits.reapSlackMs) fail("reaped", `${m.id} ${m.state} since ${m.changedAt} ms, kept past its ${keep} ms retention`);
  }
  if (!m.addressIndexed) fail("address-index", `${m.id}'s address ${m.gossip} does not lead back to it`);

  if (prev && prev.row === m.row) {
    if (m.incarnation < prev.incarnation) fail("incarnation-monotonic", `${m.id}'s incarnation went down from ${prev.incarnation} to ${m.incarnation}`);
    else if (m.incarnation === prev.incarnation && rank[m.state] < rank[prev.state]) {
      fail("state-order", `${m.id} went from ${prev.state} back to ${m.state} at the same incarnation ${m.incarnation}`);
    } else if (m.state === "suspect" && prev.state === "suspect" && m.incarnation === prev.incarnation && m.suspicionStartedAt !== prev.suspicionStartedAt) {
      fail(
        "suspicion-restarted",
        `${m.id}'s suspicion at incarnation ${m.incarnation} restarted at ${m.suspicionStartedAt} (raised at ${prev.suspicionStartedAt})`,
      );
    }
  }

  // Every owner is at incarnation 0 or above: only a higher one, or `left`, needs a look.
  const owner = isSelf || (m.incarnation === 0 && m.state !== "left") ? undefined : opts.owner?.(m.id);
  if (owner && m.incarnation > owner.incarnation)
    fail("incarnation-minted-by-owner", `holds ${m.id} at incarnation ${m.incarnation}, above its own ${owner.incarnation}`);
  // An operator's force-leave is a local tombstone at the incarnation it was dead at; the owner's refutation outranks it.
  if (owner && m.state === "left" && !m.forced && !owner.leaving && m.incarnation >= owner.incarnation)
    fail("left-only-by-leaver", `holds ${m.id} as left at incarnation ${m.incarnation}, but it runs at ${owner.incarnation} and never left`);
}

/** One line per violation, for a test failure message. */
export function describeViolations(vs: readonly Violation[]): string {
  return vs.map((v) => `${v.node} [${v.rule}] ${v.message}`).join("\n");
}
