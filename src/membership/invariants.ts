/**
 * Invariants of the SWIM core, checked from the outside on `Swim.inspect()` views: pure
 * functions, so a simulator can run them after every step and name the first bad one.
 */
import type { Inspection, MemberInspection, MemberState, NodeId } from "./types.ts";

export interface Violation {
  /** The node whose state breaks the rule. */
  readonly node: NodeId;
  readonly rule: string;
  readonly message: string;
}

export interface NodeCheckOptions {
  /** The driver's clock: a started, running node must not be left asleep past a deadline. */
  readonly now?: number;
  /** How far `wakeAt` may lag `now` (one driver step); default 0. */
  readonly slackMs?: number;
}

/** Rank at equal incarnation (SWIM's precedence): a state only ever moves up it. */
const rank: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/**
 * Check one node's core. `prev` is the same core's inspection after the previous step; leave it
 * out at the start and after a restart (a new core).
 */
export function checkNode(cur: Inspection, prev?: Inspection, opts: NodeCheckOptions = {}): Violation[] {
  const out: Violation[] = [];
  const fail = (rule: string, message: string) => out.push({ node: cur.self, rule, message });
  const last = cur.lastCallAt;

  const me = cur.members.find((m) => m.id === cur.self);
  if (!me) fail("self-known", "its own row is missing from its table");
  else if (cur.leaving ? me.state !== "left" : me.state !== "alive") {
    fail("self-alive", `holds itself ${me.state} at incarnation ${me.incarnation}${cur.leaving ? " while leaving" : " without leaving"}`);
  }

  let live = 1;
  for (const m of cur.members) {
    const isSelf = m.id === cur.self;
    if (!isSelf && (m.state === "alive" || m.state === "suspect")) live++;
    if (m.state === "suspect") {
      if (m.suspicionDeadline === undefined || !Number.isFinite(m.suspicionDeadline))
        fail("suspect-has-deadline", `${m.id} is suspect with no suspicion deadline`);
      else if (last !== undefined && m.suspicionDeadline <= last)
        fail("suspicion-overdue", `${m.id}'s suspicion ran out at ${m.suspicionDeadline} but it is still suspect at ${last}`);
    } else if (m.suspicionDeadline !== undefined) fail("deadline-only-on-suspects", `${m.id} is ${m.state} but holds a suspicion deadline`);
    const gone = !isSelf && (m.state === "dead" || m.state === "left");
    if (gone !== m.awaitingReap) fail("reap-set", `${m.id} is ${m.state}${isSelf ? " (self)" : ""} but ${m.awaitingReap ? "is" : "is not"} in the reap set`);
    if (!m.addressIndexed) fail("address-index", `${m.id}'s address ${m.gossip} does not lead back to it`);
  }
  for (const s of cur.strays) fail("index-stray", `an index names a member the table does not hold (${s})`);
  if (cur.liveCount !== live) fail("live-count", `liveCount says ${cur.liveCount}, the table has ${live} live members`);

  if (Number.isNaN(cur.wakeAt)) fail("wake-at", "wakeAt is NaN");
  else if (last !== undefined && cur.wakeAt <= last)
    fail("wake-at", `asks to wake at ${cur.wakeAt}, not after its last call at ${last}: a due timer did not run`);
  if (opts.now !== undefined && last !== undefined && cur.wakeAt < opts.now - (opts.slackMs ?? 0))
    fail("overslept", `wakeAt ${cur.wakeAt} is in the past at ${opts.now}: the driver missed a wake-up`);
  if (cur.probe && !Number.isFinite(cur.probe.deadline)) fail("probe-deadline", `the probe of ${cur.probe.target} has no deadline`);

  if (prev) out.push(...checkStep(prev, cur));
  return out;
}

/** Rules over two consecutive inspections of the same core. */
function checkStep(prev: Inspection, cur: Inspection): Violation[] {
  const out: Violation[] = [];
  const fail = (rule: string, message: string) => out.push({ node: cur.self, rule, message });
  if (prev.lastCallAt !== undefined && (cur.lastCallAt === undefined || cur.lastCallAt < prev.lastCallAt))
    fail("time", `time went back from ${prev.lastCallAt} to ${cur.lastCallAt}`);
  if (prev.leaving && !cur.leaving) fail("leaving-final", "stopped leaving");

  const now = new Map<NodeId, MemberInspection>(cur.members.map((m) => [m.id, m]));
  const holders = new Map<string, NodeId>(cur.members.map((m) => [m.gossip, m.id]));
  for (const p of prev.members) {
    const c = now.get(p.id);
    if (c && c.row === p.row) {
      if (c.incarnation < p.incarnation) fail("incarnation-monotonic", `${p.id}'s incarnation went down from ${p.incarnation} to ${c.incarnation}`);
      else if (c.incarnation === p.incarnation && c.state !== p.state && rank[c.state] < rank[p.state]) {
        fail("state-order", `${p.id} went from ${p.state} back to ${c.state} at the same incarnation ${c.incarnation}`);
      }
      continue;
    }
    // The row is gone (maybe learned again as a new row): only reaping or a new identity on its address removes one.
    const replaced = holders.has(p.gossip) && holders.get(p.gossip) !== p.id;
    if (p.state !== "dead" && p.state !== "left" && !replaced)
      fail("removed-only-when-gone", `${p.id} (${p.state}) left the table without being reaped or replaced`);
  }
  return out;
}

/**
 * Rules across the cores of all running nodes (each node's own inspection; leave out crashed
 * ones). Incarnations are minted only by their owner, and `left` only by the leaver.
 */
export function checkCluster(nodes: readonly Inspection[]): Violation[] {
  const out: Violation[] = [];
  const own = new Map<NodeId, { readonly incarnation: number; readonly leaving: boolean }>();
  for (const i of nodes) {
    const me = i.members.find((m) => m.id === i.self);
    if (me) own.set(i.self, { incarnation: me.incarnation, leaving: i.leaving });
  }
  for (const viewer of nodes) {
    for (const m of viewer.members) {
      const owner = m.id === viewer.self ? undefined : own.get(m.id);
      if (!owner) continue;
      if (m.incarnation > owner.incarnation) {
        out.push({
          node: viewer.self,
          rule: "incarnation-minted-by-owner",
          message: `holds ${m.id} at incarnation ${m.incarnation}, above its own ${owner.incarnation}`,
        });
      }
      if (m.state === "left" && !owner.leaving && m.incarnation >= owner.incarnation) {
        out.push({
          node: viewer.self,
          rule: "left-only-by-leaver",
          message: `holds ${m.id} as left at incarnation ${m.incarnation}, but it runs at ${owner.incarnation} and never left`,
        });
      }
    }
  }
  return out;
}

/** One line per violation, for a test failure message. */
export function describeViolations(vs: readonly Violation[]): string {
  return vs.map((v) => `${v.node} [${v.rule}] ${v.message}`).join("\n");
}
