/**
 * The invariant checker runs after every step of every simulated node (on in every simulation
 * test). These pin that it notices a broken rule at the first step after it breaks, and names
 * the seed, the step, the virtual time and the node, so the run can be replayed to that point.
 */
import { describe, expect, test } from "bun:test";
import { profiles } from "../../src/membership/timing.ts";
import type { Member, NodeInfo } from "../../src/membership/types.ts";
import { type CoreView, checkCore, limitsFor, ObserverHistory } from "../../src/sim/invariants.ts";
import { InvariantViolation, SimCluster } from "../../src/sim/sim-cluster.ts";

function caught(fn: () => void): InvariantViolation {
  try {
    fn();
  } catch (e) {
    if (e instanceof InvariantViolation) return e;
    throw e;
  }
  throw new Error("no invariant violation");
}

describe("invariants in the simulator", () => {
  test("a member whose incarnation goes back is reported at the next step of that node, with seed, step, time and node", () => {
    const c = new SimCluster({ n: 10, seed: 5001, preload: true });
    c.run(3_000);
    const stepsBefore = c.steps;
    // Corrupt node 4's view of node 6 behind the core's back.
    const m = c.nodes[4]!.swim.member(c.idOf(6)) as Member;
    m.incarnation = 7;
    c.run(1_000); // node 4 now remembers incarnation 7
    m.incarnation = 3;
    const e = caught(() => c.run(5_000));
    expect(e.violation.rule).toBe("incarnation");
    expect(e.node).toBe(4);
    expect(e.seed).toBe(5001);
    expect(e.step).toBeGreaterThan(stepsBefore);
    expect(e.message).toContain("seed 5001");
    expect(e.message).toContain(`step ${e.step}`);
  });

  test("checks can be turned off (benchmarks), and the run then goes on", () => {
    const c = new SimCluster({ n: 10, seed: 5001, preload: true, checkInvariants: false });
    c.run(3_000);
    (c.nodes[4]!.swim.member(c.idOf(6)) as Member).incarnation = -1;
    c.run(3_000);
  });
});

describe("invariant rules", () => {
  const t = profiles.lan;
  const limits = limitsFor(t, 10);
  const info = (id: string): NodeInfo => ({ id, name: id, gossip: `${id}:1`, http: `${id}:2`, capacity: 1 });
  const view = (members: Member[], opts: { incarnation?: number; leaving?: boolean } = {}): CoreView => {
    const byId = new Map(members.map((m) => [m.info.id, m]));
    return {
      self: members[0]!.info,
      incarnation: opts.incarnation ?? members[0]!.incarnation,
      leaving: opts.leaving ?? false,
      liveCount: members.filter((m, i) => i === 0 || m.state === "alive" || m.state === "suspect").length,
      members: () => members,
      member: (id) => byId.get(id),
    };
  };
  const slot = (id: string) => Number(id.slice(1));
  const member = (id: string, state: Member["state"], incarnation = 1, changedAt = 0): Member => ({ info: info(id), state, incarnation, changedAt });

  test("a healthy table passes", () => {
    expect(checkCore(view([member("n0", "alive"), member("n1", "suspect"), member("n2", "dead")]), 10, new ObserverHistory(3), slot, limits)).toBeUndefined();
  });

  test("a node that holds itself suspect, or lost its own entry, breaks self-alive", () => {
    expect(checkCore(view([member("n0", "suspect")]), 0, new ObserverHistory(1), slot, limits)?.rule).toBe("self-alive");
    const v = view([member("n0", "alive")]);
    expect(checkCore({ ...v, member: () => undefined }, 0, new ObserverHistory(1), slot, limits)?.rule).toBe("self-alive");
  });

  test("a suspect never resolved past the longest suspicion timeout has no deadline", () => {
    const h = new ObserverHistory(2);
    const table = [member("n0", "alive"), member("n1", "suspect", 4)];
    expect(checkCore(view(table), 1_000, h, slot, limits)).toBeUndefined();
    expect(checkCore(view(table), 1_000 + limits.longestSuspicionMs - 1, h, slot, limits)).toBeUndefined();
    expect(checkCore(view(table), 1_001 + limits.longestSuspicionMs, h, slot, limits)?.rule).toBe("suspicion-deadline");
    // A suspicion at a newer incarnation starts its own clock.
    const h2 = new ObserverHistory(2);
    checkCore(view(table), 1_000, h2, slot, limits);
    table[1]!.incarnation = 5;
    expect(checkCore(view(table), 1_001 + limits.longestSuspicionMs, h2, slot, limits)).toBeUndefined();
  });

  test("a dead member kept past its retention was never reaped", () => {
    const table = [member("n0", "alive"), member("n1", "dead", 1, 0)];
    expect(checkCore(view(table), t.deadRetentionMs, new ObserverHistory(2), slot, limits)).toBeUndefined();
    expect(checkCore(view(table), t.deadRetentionMs + limits.reapSlackMs + 1, new ObserverHistory(2), slot, limits)?.rule).toBe("reaped");
  });

  test("own incarnation going back, and a live count that disagrees with the table", () => {
    const h = new ObserverHistory(1);
    const me = member("n0", "alive", 9);
    expect(checkCore(view([me]), 0, h, slot, limits)).toBeUndefined();
    me.incarnation = 8;
    expect(checkCore(view([me]), 1, h, slot, limits)?.rule).toBe("self-incarnation");
    const v = view([member("n0", "alive"), member("n1", "alive")]);
    expect(checkCore({ ...v, liveCount: 1 }, 0, new ObserverHistory(2), slot, limits)?.rule).toBe("live-count");
  });
});
