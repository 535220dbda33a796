/**
 * The core's invariants (src/membership/invariants.ts) checked after every call into every
 * node's core while the simulator runs faults through a cluster: a break names its first step.
 */
import { describe, expect, test } from "bun:test";
import { checkCluster, checkNode, describeViolations, type Violation } from "../../src/membership/invariants.ts";
import type { Swim } from "../../src/membership/swim.ts";
import type { Inspection } from "../../src/membership/types.ts";
import { SimCluster } from "../../src/sim/sim-cluster.ts";

/**
 * Check each node after each of its steps, and the whole cluster every 500 ms of `run`. The
 * first violation stops the run with an error naming the step (a broken timer would otherwise
 * spin the simulator at one instant).
 */
function watched(c: SimCluster): { steps: number; run: (ms: number) => void } {
  const prev = new Map<number, { swim: Swim; view: Inspection }>();
  const box = { steps: 0, run };
  const stop = (vs: Violation[]) => {
    if (vs.length > 0) throw new Error(`invariant broken at t=${c.now}:\n${describeViolations(vs)}`);
  };
  c.onStep((n) => {
    box.steps++;
    const view = n.swim.inspect();
    const before = prev.get(n.index);
    stop(checkNode(view, before?.swim === n.swim ? before.view : undefined, { now: c.now }));
    prev.set(n.index, { swim: n.swim, view });
  });
  function run(ms: number): void {
    for (let t = 0; t < ms; t += 500) {
      c.run(Math.min(500, ms - t));
      const up = c.upNodes().map((i) => c.nodes[i]!.swim.inspect());
      stop(checkCluster(up));
      // A running node is never left asleep past its own deadline.
      stop(up.flatMap((view) => checkNode(view, undefined, { now: c.now })));
    }
  }
  return box;
}

describe("core invariants hold at every step", () => {
  test("heavy loss: suspicions and refutations (N=12, 30% loss, 10 virtual minutes)", () => {
    const c = new SimCluster({ n: 12, seed: 4001, preload: true, network: { loss: 0.3 } });
    const w = watched(c);
    c.run(1); // first steps after preload
    w.run(600_000);
    expect(w.steps).toBeGreaterThan(50_000);
  }, 60_000);

  test("crash, pause, partition, leave and restart (N=24)", () => {
    const c = new SimCluster({ n: 24, seed: 4002, preload: true, network: { loss: 0.05 } });
    const w = watched(c);
    w.run(10_000);
    c.crash(3);
    c.pause(5);
    w.run(20_000);
    c.resume(5);
    c.network.partition([[...Array(12).keys()], [...Array(12).keys()].map((i) => i + 12)]);
    w.run(30_000);
    c.network.heal();
    c.leave(9);
    w.run(30_000);
    c.restart(3);
    w.run(30_000);
    expect(
      c.allSee(
        3,
        "alive",
        c.upNodes().filter((i) => i !== 9),
      ),
    ).toBe(true);
  }, 60_000);

  test("nodes joining one by one (N=20)", () => {
    const c = new SimCluster({ n: 20, seed: 4003, joinSpreadMs: 200 });
    const w = watched(c);
    w.run(30_000);
    expect(c.upNodes().every((o) => c.allSee(o, "alive"))).toBe(true);
    expect(w.steps).toBeGreaterThan(2_000);
  }, 60_000);
});
