/**
 * The invariant checker (src/membership/invariants.ts) runs after every step of every simulated
 * node, in every simulation test. These pin that a broken rule stops the run at the first step
 * after it breaks, naming the seed, the step, the virtual time and the node (so the run can be
 * replayed to that point), in small clusters (whole table every step) and large ones (changed
 * members every step, whole table every 30 virtual s); and that faults keep every rule.
 */
import { describe, expect, test } from "bun:test";
import type { Member } from "../../src/membership/types.ts";
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

/** Node `observer`'s row for node `target`, to corrupt behind the core's back. */
const rowOf = (c: SimCluster, observer: number, target: number) => c.nodes[observer]!.swim.member(c.idOf(target)) as Member;

describe("invariants in the simulator", () => {
  test("a member whose incarnation goes back is reported at the next step of that node, with seed, step, time and node", () => {
    const c = new SimCluster({ n: 10, seed: 5001, preload: true });
    c.run(3_000);
    const stepsBefore = c.steps;
    // Node 6 as if it had refuted up to 7, and node 4 had heard it.
    (c.nodes[6]!.swim.member(c.idOf(6)) as Member).incarnation = 7;
    const m = rowOf(c, 4, 6);
    m.incarnation = 7;
    c.run(1_000); // node 4's checker now remembers incarnation 7
    m.incarnation = 3;
    let steps4 = 0;
    c.onStep((n) => n.index === 4 && steps4++);
    const e = caught(() => c.run(5_000));
    expect(e.violation.rule).toBe("incarnation-monotonic");
    expect(steps4).toBe(0); // its very next step
    expect(e.node).toBe(4);
    expect(e.seed).toBe(5001);
    expect(e.step).toBeGreaterThan(stepsBefore);
    expect(e.message).toContain("seed 5001");
    expect(e.message).toContain(`step ${e.step}`);
  });

  test("beyond 32 nodes: the members a step changed are checked at that step, the others by the next sweep", () => {
    const c = new SimCluster({ n: 40, seed: 5002, preload: true });
    c.run(3_000);
    // Node 4's address index loses node 6: unseen until node 6's leave changes that row.
    const row = rowOf(c, 4, 6);
    row.info = { ...row.info, gossip: "10.9.9.9:7946" };
    c.run(1_000);
    c.leave(6);
    const start = c.now;
    const e = caught(() => c.run(5_000));
    expect([e.node, e.violation.rule]).toEqual([4, "address-index"]);
    expect(e.at - start).toBeLessThan(1_000);

    const d = new SimCluster({ n: 40, seed: 5002, preload: true });
    d.run(3_000);
    rowOf(d, 4, 6).incarnation = 1000; // above its owner's 0, below the clock's ceiling
    const e2 = caught(() => d.run(60_000));
    expect([e2.node, e2.violation.rule]).toEqual([4, "incarnation-minted-by-owner"]);
    expect(e2.at).toBeLessThanOrEqual(3_000 + 30_000);

    const f = new SimCluster({ n: 40, seed: 5002, preload: true });
    f.run(3_000);
    rowOf(f, 4, 6).incarnation = 1e6; // no node could have reached it by now
    const e3 = caught(() => f.run(60_000));
    expect([e3.node, e3.violation.rule]).toEqual([4, "incarnation-ceiling"]);
  });

  test("a node the driver never wakes is caught asleep past its deadline", () => {
    const c = new SimCluster({ n: 1, seed: 5003, preload: true });
    c.run(2_000);
    c.nodes[0]!.timerToken++; // its armed timer now does nothing
    const e = caught(() => c.run(10_000));
    expect([e.node, e.violation.rule]).toEqual([0, "overslept"]);
  });

  test("checks can be turned off (benchmarks), and the run then goes on", () => {
    const c = new SimCluster({ n: 10, seed: 5001, preload: true, checkInvariants: false });
    c.run(3_000);
    rowOf(c, 4, 6).incarnation = -1;
    c.run(3_000);
  });

  test("every rule holds through joins, a crash, a pause, a partition, a leave and a restart (N=24)", () => {
    const c = new SimCluster({ n: 24, seed: 4002, joinSpreadMs: 200, network: { loss: 0.05 } });
    c.run(15_000);
    expect(c.upNodes().every((o) => c.allSee(o, "alive"))).toBe(true);
    c.crash(3);
    c.pause(5);
    c.run(20_000);
    c.resume(5);
    c.network.partition([[...Array(12).keys()], [...Array(12).keys()].map((i) => i + 12)]);
    c.run(30_000);
    c.network.heal();
    c.leave(9);
    c.run(30_000);
    c.restart(3);
    c.run(30_000);
    const others = c.upNodes().filter((i) => i !== 9);
    expect(c.allSee(3, "alive", others)).toBe(true);
    // (The restarted node joined after the leave: it need not have heard of node 9.)
    expect(
      c.allSee(
        9,
        "left",
        others.filter((i) => i !== 3),
      ),
    ).toBe(true);
    expect(c.steps).toBeGreaterThan(10_000);
  }, 60_000);
});
