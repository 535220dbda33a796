/** The invariant checker: silent on a healthy core, and each rule names what broke. */
import { describe, expect, test } from "bun:test";
import { checkCluster, checkNode } from "../../src/membership/invariants.ts";
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

describe("invariant checker", () => {
  test("a real core passes, step after step", () => {
    const s = new Swim({ self: info(1), timing: profiles.lan, random: seededRandom(1), sizeOf: encodedSize, now: 0 });
    let prev = s.inspect();
    expect(checkNode(prev)).toEqual([]);
    s.handle(1, {
      type: "message",
      source: info(9).gossip,
      message: { type: "gossip", from: "n9", updates: [2, 3, 4].map((n) => ({ kind: "alive", incarnation: 1, info: info(n) })) },
    });
    for (let t = 1; t < 30_000; t += 97) {
      s.handle(t, { type: "tick" });
      const cur = s.inspect();
      expect(checkNode(cur, prev, { now: t })).toEqual([]);
      prev = cur;
    }
    // Nobody answered: the members went through suspicion to dead, each suspect with a deadline.
    expect(prev.members.filter((m) => m.state === "dead").length).toBe(3);
  });

  test("a healthy view passes", () => {
    expect(checkNode(view(), view({ lastCallAt: 50 }), { now: 150 })).toEqual([]);
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
    expect(
      rules(checkNode(view({ members: [row(1), row(2, { incarnation: 3 }), row(3, { state: "dead", awaitingReap: true })], liveCount: 2 }), before)),
    ).toEqual(["incarnation-monotonic"]);
    const revived = view({ members: [row(1), row(2, { incarnation: 4 }), row(3, { state: "suspect", suspicionDeadline: 500 })] });
    expect(rules(checkNode(revived, before))).toEqual(["state-order"]);
    // A higher incarnation may bring it back: a rejoin.
    expect(checkNode(view({ members: [row(1), row(2, { incarnation: 4 }), row(3, { incarnation: 2 })] }), before)).toEqual([]);
  });

  test("between steps: a row leaves the table only when reaped or replaced", () => {
    const before = view();
    expect(rules(checkNode(view({ members: [row(1), row(3)], liveCount: 2 }), before))).toEqual(["removed-only-when-gone"]);
    // A new identity on n2's address replaced it.
    const replaced = view({ members: [row(1), row(3), row(8, { gossip: "10.0.0.2:7946" })] });
    expect(checkNode(replaced, before)).toEqual([]);
    // A dead member is reaped.
    const dying = view({ members: [row(1), row(2, { state: "dead", awaitingReap: true }), row(3)], liveCount: 2 });
    expect(checkNode(view({ members: [row(1), row(3)], liveCount: 2 }), dying)).toEqual([]);
  });

  test("between steps: time and leaving only go forward", () => {
    expect(rules(checkNode(view({ lastCallAt: 40, wakeAt: 60 }), view()))).toEqual(["time"]);
    const left = view({ leaving: true, members: [row(1, { state: "left", incarnation: 2 }), row(2), row(3)] });
    expect(rules(checkNode(view(), left))).toEqual(["leaving-final", "incarnation-monotonic"]);
  });

  test("across nodes: incarnations are minted by their owner, `left` only by the leaver", () => {
    const n2 = (extra: Partial<Inspection> = {}): Inspection => view({ self: "n2", members: [row(1), row(2, { incarnation: 3 }), row(3)], ...extra });
    expect(checkCluster([view(), n2()])).toEqual([]);
    // n1 holds n2 at 1 while n2 runs at 3: fine. n2 held at 5 by n1: above its own.
    const ahead = view({ members: [row(1), row(2, { incarnation: 5 }), row(3)] });
    expect(rules(checkCluster([ahead, n2()]))).toEqual(["incarnation-minted-by-owner"]);
    const heldLeft = view({ members: [row(1), row(2, { state: "left", incarnation: 3, awaitingReap: true }), row(3)], liveCount: 2 });
    expect(rules(checkCluster([heldLeft, n2()]))).toEqual(["left-only-by-leaver"]);
    expect(checkCluster([heldLeft, n2({ leaving: true })])).toEqual([]);
  });
});
