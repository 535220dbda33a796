/**
 * Protocol properties under the deterministic simulator. A failing seed replays exactly:
 * rerun with the same seed to reproduce.
 */
import { describe, expect, test } from "bun:test";
import { SimCluster } from "../../src/sim/sim-cluster.ts";

function countEvents(c: SimCluster, type: string, member?: number): { n: number } {
  const box = { n: 0 };
  c.onEvent(({ event }) => {
    if (event.type === type && (member === undefined || event.member.info.id === c.idOf(member))) box.n++;
  });
  return box;
}

describe("simulation: detection", () => {
  test("N=100 with 10% datagram loss for 10 virtual minutes: nobody is ever declared dead", () => {
    const c = new SimCluster({ n: 100, seed: 1001, preload: true, network: { loss: 0.1 } });
    const deaths = countEvents(c, "dead");
    c.run(600_000);
    expect(deaths.n).toBe(0);
    // Loss did fail UDP probes; the HTTP fallback answered for the living.
    expect(c.nodes.reduce((sum, n) => sum + n.swim.stats.fallbackAcks, 0)).toBeGreaterThan(100);
    // At any instant a few suspicions are in flight; none of them ever ended in a death.
    for (const o of c.upNodes()) for (const t of c.upNodes()) expect(["alive", "suspect"]).toContain(c.stateOf(o, t)!);
  }, 60_000);

  test("N=10 with 30% loss on every datagram and TCP segment for 60 virtual minutes: suspicions, refutations, no death", () => {
    const c = new SimCluster({ n: 10, seed: 1005, preload: true, network: { loss: 0.3 } });
    const deaths = countEvents(c, "dead");
    const refutations = countEvents(c, "refuted");
    c.run(3_600_000);
    expect(refutations.n).toBeGreaterThan(100);
    expect(deaths.n).toBe(0);
  }, 60_000);

  test("a crash under 10% loss is known dead by every survivor within 10 s", () => {
    const c = new SimCluster({ n: 100, seed: 1002, preload: true, network: { loss: 0.1 } });
    c.run(20_000);
    c.crash(17);
    const took = c.runUntil(() => c.allSee(17, "dead"), 10_000, 10);
    expect(took).toBeDefined();
  });

  test("a silent failure (no refused connection) goes through suspicion and is dead everywhere within 15 s", () => {
    const c = new SimCluster({ n: 100, seed: 1003, preload: true });
    c.run(20_000);
    const suspicions = countEvents(c, "suspect", 5);
    c.pause(5);
    const took = c.runUntil(() => c.allSee(5, "dead"), 15_000, 10);
    expect(took).toBeDefined();
    expect(took!).toBeGreaterThan(c.timing.probeTimeoutMs);
    expect(suspicions.n).toBeGreaterThan(0);
  });

  test("a 1.5 s stall is never declared dead, and the node refutes if suspected", () => {
    const c = new SimCluster({ n: 20, seed: 1004, preload: true });
    c.run(15_000);
    const deaths = countEvents(c, "dead");
    c.pause(3);
    c.run(1500);
    c.resume(3);
    c.run(30_000);
    expect(deaths.n).toBe(0);
    expect(c.allSee(3, "alive")).toBe(true);
  });
});

describe("simulation: healing", () => {
  test("a 50/50 partition for 30 s heals into one view, everyone alive, within 30 s", () => {
    const c = new SimCluster({ n: 100, seed: 2001, preload: true });
    c.run(20_000);
    const left = [...Array(50).keys()];
    const right = left.map((i) => i + 50);
    c.network.partition([left, right]);
    c.run(30_000);
    // Both sides gave up on each other...
    expect(left.every((o) => c.stateOf(o, 75) === "dead")).toBe(true);
    expect(right.every((o) => c.stateOf(o, 25) === "dead")).toBe(true);
    c.network.heal();
    // ...and find each other again with no restart.
    const took = c.runUntil(() => c.upNodes().every((o) => c.allSee(o, "alive")), 30_000, 100);
    expect(took).toBeDefined();
  }, 30_000);

  test("a graceful leave is seen as left by everyone within 1 s", () => {
    const c = new SimCluster({ n: 30, seed: 2002, preload: true });
    c.run(10_000);
    c.leave(9);
    const took = c.runUntil(() => c.upNodes().every((o) => o === 9 || c.stateOf(o, 9) === "left"), 1000, 10);
    expect(took).toBeDefined();
  });

  test("a crashed node restarted with the same identity rejoins everywhere", () => {
    const c = new SimCluster({ n: 30, seed: 2003, preload: true });
    c.run(10_000);
    c.crash(4);
    expect(c.runUntil(() => c.allSee(4, "dead"), 20_000)).toBeDefined();
    c.run(5_000);
    c.restart(4);
    expect(c.runUntil(() => c.upNodes().every((o) => c.allSee(o, "alive")), 10_000)).toBeDefined();
  });

  test("nodes joining one by one through a single seed converge", () => {
    const c = new SimCluster({ n: 50, seed: 2004, joinSpreadMs: 100 });
    expect(c.runUntil(() => c.upNodes().every((o) => c.allSee(o, "alive")), 30_000)).toBeDefined();
  });
});

describe("simulation: determinism", () => {
  function trace(seed: number): string[] {
    const c = new SimCluster({ n: 40, seed, preload: true, network: { loss: 0.2 } });
    const out: string[] = [];
    c.onEvent(({ observer, event }) => out.push(`${c.now.toFixed(3)} ${observer} ${event.type} ${event.member.info.id}@${event.member.incarnation}`));
    c.run(20_000);
    c.crash(7);
    c.network.partition([[...Array(20).keys()], [...Array(20).keys()].map((i) => i + 20)]);
    c.run(20_000);
    c.network.heal();
    c.run(20_000);
    return out;
  }

  test("the same seed replays the same run, event for event", () => {
    const a = trace(31337);
    expect(a.length).toBeGreaterThan(100);
    expect(trace(31337)).toEqual(a);
    expect(trace(31338)).not.toEqual(a);
  }, 30_000);
});
