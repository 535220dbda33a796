/** The invariant checker: silent on a healthy core, and each rule names what broke. */
import { describe, expect, test } from "bun:test";
import { CoreHistory, checkMembers, checkNode, limitsFor, type OwnerView } from "../../src/membership/invariants.ts";
import { Swim } from "../../src/membership/swim.ts";
import { profiles } from "../../src/membership/timing.ts";
import type { Inspection, MemberInspection, NodeInfo } from "../../src/membership/types.ts";
import { seededRandom } from "../../src/util/random.ts";
import { encodedSize } from "../../src/wire/codec.ts";

const info = (n: number): NodeInfo => ({ id: `n${n}`, name: `node-${n}`, gossip: `10.0.0.${n}:7946`, http: `10.0.0.${n}:5000`, capacity: 100 });
const row = (n: number, extra: Partial<MemberInspection> = {}): MemberInspection => ({
  id: `n${n}`,
  gossip: `10.0.0.${n}:7946`,
  state: "alive",
  incarnation: 1,
  changedAt: 0,
  row: n,
  awaitingReap: false,
  addressIndexed: true,
  ...extra,
});
/** A healthy view of node 1 holding nodes 2 and 3, last called at t=100. */
const view = (extra: Partial<Inspection> = {}): Inspection => ({
  self: "n1",
  leaving: false,
  lastCallAt: 100,
  wakeAt: 200,
  liveCount: 3,
  members: [row(1), row(2), row(3)],
  strays: [],
  relays: 0,
  ...extra,
});
const rules = (vs: { rule: string }[]) => vs.map((v) => v.rule);
/** Check `cur` as the step after `prev`. */
const after = (cur: Inspection, prev: Inspection) => checkNode(cur, CoreHistory.of(prev));

describe("invariant checker", () => {
  test("a real core passes, step after step", () => {
    const s = new Swim({ self: info(1), timing: profiles.lan, random: seededRandom(1), sizeOf: encodedSize, now: 0 });
    const history = new CoreHistory();
    const opts = { limits: limitsFor(profiles.lan, 4) };
    let prev = s.inspect();
    expect(checkNode(prev, history, opts)).toEqual([]);
    s.handle(1, {
      type: "message",
      source: info(9).gossip,
      message: { type: "gossip", from: "n9", updates: [2, 3, 4].map((n) => ({ kind: "alive", incarnation: 1, info: info(n) })) },
    });
    for (let t = 1; t < 30_000; t += 97) {
      s.handle(t, { type: "tick" });
      const cur = s.inspect();
      expect(checkNode(cur, history, { ...opts, now: t })).toEqual([]);
      prev = cur;
    }
    // Nobody answered: the members went through suspicion to dead, each suspect with a deadline.
    expect(prev.members.filter((m) => m.state === "dead").length).toBe(3);
  });

  test("a healthy view passes", () => {
    expect(checkNode(view(), CoreHistory.of(view({ lastCallAt: 50 })), { now: 150 })).toEqual([]);
  });

  test("a node holding itself suspect without leaving", () => {
    const vs = checkNode(view({ members: [row(1, { state: "suspect", suspicionDeadline: 300 }), row(2), row(3)] }));
    expect(rules(vs)).toEqual(["self-alive"]);
    expect(vs[0]!.message).toContain("holds itself suspect");
  });

  test("a suspect without a deadline (the bug a warm start had), and one past its deadline", () => {
    expect(rules(checkNode(view({ members: [row(1), row(2, { state: "suspect" }), row(3)] })))).toEqual(["suspect-has-deadline"]);
    expect(rules(checkNode(view({ members: [row(1), row(2, { state: "suspect", suspicionDeadline: 90 }), row(3)] })))).toEqual(["suspicion-overdue"]);
    expect(rules(checkNode(view({ members: [row(1), row(2, { suspicionDeadline: 900 }), row(3)] })))).toEqual(["deadline-only-on-suspects"]);
  });

  test("index bookkeeping: reap set, address index, strays, live count", () => {
    const dead = row(3, { state: "dead", awaitingReap: false });
    expect(rules(checkNode(view({ members: [row(1), row(2), dead], liveCount: 2 })))).toEqual(["reap-set"]);
    expect(rules(checkNode(view({ members: [row(1), row(2, { addressIndexed: false }), row(3)] })))).toEqual(["address-index"]);
    expect(rules(checkNode(view({ strays: ["reap set: n7"] })))).toEqual(["index-stray"]);
    expect(rules(checkNode(view({ liveCount: 4 })))).toEqual(["live-count"]);
  });

  test("wake-ups: not at or before the last call, not overslept by the driver", () => {
    expect(rules(checkNode(view({ wakeAt: 100 })))).toEqual(["wake-at"]);
    expect(rules(checkNode(view(), undefined, { now: 260, slackMs: 50 }))).toEqual(["overslept"]);
    expect(checkNode(view(), undefined, { now: 240, slackMs: 50 })).toEqual([]);
    // A core not yet started has nothing to oversleep.
    expect(checkNode(view({ lastCallAt: undefined, wakeAt: 0 }), undefined, { now: 5000 })).toEqual([]);
  });

  test("between steps: incarnations never go down, states only move up at one incarnation", () => {
    const before = view({ members: [row(1), row(2, { incarnation: 4 }), row(3, { state: "dead", awaitingReap: true })], liveCount: 2 });
    expect(rules(after(view({ members: [row(1), row(2, { incarnation: 3 }), row(3, { state: "dead", awaitingReap: true })], liveCount: 2 }), before))).toEqual([
      "incarnation-monotonic",
    ]);
    const revived = view({ members: [row(1), row(2, { incarnation: 4 }), row(3, { state: "suspect", suspicionDeadline: 500 })] });
    expect(rules(after(revived, before))).toEqual(["state-order"]);
    // A higher incarnation may bring it back: a rejoin.
    expect(after(view({ members: [row(1), row(2, { incarnation: 4 }), row(3, { incarnation: 2 })] }), before)).toEqual([]);
  });

  test("between steps: a row leaves the table only when reaped or replaced", () => {
    const before = view();
    expect(rules(after(view({ members: [row(1), row(3)], liveCount: 2 }), before))).toEqual(["removed-only-when-gone"]);
    // A new identity on n2's address replaced it.
    const replaced = view({ members: [row(1), row(3), row(8, { gossip: "10.0.0.2:7946" })] });
    expect(after(replaced, before)).toEqual([]);
    // A dead member is reaped.
    const dying = view({ members: [row(1), row(2, { state: "dead", awaitingReap: true }), row(3)], liveCount: 2 });
    expect(after(view({ members: [row(1), row(3)], liveCount: 2 }), dying)).toEqual([]);
  });

  test("between steps: time and leaving only go forward", () => {
    expect(rules(after(view({ lastCallAt: 40, wakeAt: 60 }), view()))).toEqual(["time"]);
    const left = view({ leaving: true, members: [row(1, { state: "left", incarnation: 2 }), row(2), row(3)] });
    expect(rules(after(view(), left))).toEqual(["leaving-final", "incarnation-monotonic"]);
  });

  test("across nodes: incarnations are minted by their owner, `left` only by the leaver", () => {
    const owners = (n2: OwnerView) => ({ owner: (id: string) => (id === "n2" ? n2 : undefined) });
    const runs3 = { incarnation: 3, leaving: false };
    // n1 holds n2 at 1 while n2 runs at 3: fine. n2 held at 5: above its own.
    expect(checkNode(view(), undefined, owners(runs3))).toEqual([]);
    expect(rules(checkNode(view({ members: [row(1), row(2, { incarnation: 5 }), row(3)] }), undefined, owners(runs3)))).toEqual([
      "incarnation-minted-by-owner",
    ]);
    const heldLeft = view({ members: [row(1), row(2, { state: "left", incarnation: 3, awaitingReap: true }), row(3)], liveCount: 2 });
    expect(rules(checkNode(heldLeft, undefined, owners(runs3)))).toEqual(["left-only-by-leaver"]);
    expect(checkNode(heldLeft, undefined, owners({ incarnation: 3, leaving: true }))).toEqual([]);
  });

  test("durations: no suspicion outlives the longest timeout or restarts, and the dead and left are reaped on time", () => {
    const limits = limitsFor(profiles.lan, 10);
    const suspect = (startedAt: number, deadline: number) => row(2, { state: "suspect", suspicionStartedAt: startedAt, suspicionDeadline: deadline });
    expect(checkNode(view({ members: [row(1), suspect(90, 300), row(3)] }), undefined, { limits })).toEqual([]);
    const tooLong = view({ members: [row(1), suspect(90, 91 + limits.longestSuspicionMs), row(3)] });
    expect(rules(checkNode(tooLong, undefined, { limits }))).toEqual(["suspicion-too-long"]);
    // At one incarnation a suspicion is raised once (confirmations only bring its deadline closer).
    const before = view({ members: [row(1), suspect(90, 300), row(3)] });
    expect(rules(after(view({ members: [row(1), suspect(100, 300), row(3)] }), before))).toEqual(["suspicion-restarted"]);
    // A suspicion at a newer incarnation is a new one.
    expect(after(view({ members: [row(1), { ...suspect(100, 300), incarnation: 2 }, row(3)] }), before)).toEqual([]);

    // Dead since 0, checked at `now` (reaping runs once a probe round, a slow node stretches rounds).
    const deadAt = (now: number, leaving = false) =>
      view({
        lastCallAt: now,
        wakeAt: now + 1,
        leaving,
        members: [row(1, leaving ? { state: "left" } : {}), row(2, { state: "dead", awaitingReap: true }), row(3)],
        liveCount: 2,
      });
    const late = limits.deadRetentionMs + limits.reapSlackMs + 1;
    expect(checkNode(deadAt(limits.deadRetentionMs), undefined, { limits })).toEqual([]);
    expect(rules(checkNode(deadAt(late), undefined, { limits }))).toEqual(["reaped"]);
    // A leaving node stops reaping.
    expect(checkNode(deadAt(late, true), undefined, { limits })).toEqual([]);
  });

  test("a member in an unknown state or at a broken incarnation", () => {
    const odd = row(2, { state: "zombie" as never });
    expect(rules(checkNode(view({ members: [row(1), odd, row(3)], liveCount: 2 })))).toContain("table");
    expect(rules(checkNode(view({ members: [row(1), row(2, { incarnation: -1 }), row(3)] })))).toEqual(["table"]);
  });

  test("per member: the changed members at a cost independent of the table, the rest at the next full check", () => {
    const history = new CoreHistory();
    expect(checkNode(view(), history)).toEqual([]);
    const cur = view({ lastCallAt: 150, wakeAt: 250, members: [row(1), row(2, { incarnation: 0 }), row(3)] });
    const lookup = (id: string) => cur.members.find((m) => m.id === id);
    const seen: string[] = [];
    const inspect = (id: string) => (seen.push(id), lookup(id));
    // Only n3 changed: n2's bad incarnation is not looked at.
    expect(checkMembers(cur, ["n3"], inspect, history)).toEqual([]);
    expect(seen).toEqual(["n1", "n3"]);
    expect(rules(checkMembers(cur, ["n2"], inspect, history))).toEqual(["incarnation-monotonic"]);
    // Its own row is always checked.
    const sick = view({ lastCallAt: 160, members: [row(1, { state: "suspect", suspicionDeadline: 900 }), row(2), row(3)] });
    expect(rules(checkMembers(sick, [], (id) => sick.members.find((m) => m.id === id), history))).toEqual(["self-alive"]);
    // n3 removed while alive, then learned again as a new row: judged at the next full check.
    const h2 = CoreHistory.of(view());
    const relearned = view({ lastCallAt: 170, members: [row(1), row(2), row(3, { row: 33 })] });
    expect(checkMembers(relearned, ["n3"], (id) => relearned.members.find((m) => m.id === id), h2)).toEqual([]);
    expect(rules(checkNode({ ...relearned, lastCallAt: 180 }, h2))).toEqual(["removed-only-when-gone"]);
  });
});
