/**
 * Phantoms as ping-req relays. An insider's invented members are listed alive until probes find
 * them out; picked as relays they never nack, so Lifeguard reads the missing nacks as our own
 * fault and slows probing (a crash took 9-15 s to detect right after a phantom /sync). Relays
 * are picked among members that answered our probes recently: a crash right after the phantoms
 * arrive is detected about as fast as without them.
 */
import { expect, test } from "bun:test";
import { Byzantine } from "../../src/sim/byzantine.ts";
import { SimCluster } from "../../src/sim/sim-cluster.ts";

const KEY = "byzantine-relays-sim-key-01";

/** Crash one real member (with or without phantoms just gossiped to everyone): ms until all others see it dead. */
function crashDetection(n: number, seed: number, phantoms: number): { took: number; health: number } {
  const c = new SimCluster({ n, seed, preload: true, clusterKey: KEY, maxMembers: n + phantoms });
  c.run(20_000);
  const byz = new Byzantine(c, n - 1);
  const honest = () => c.upNodes().filter((i) => i !== byz.index);
  if (phantoms > 0) byz.phantoms(phantoms, honest());
  c.run(1_000);
  const victim = 1;
  c.crash(victim);
  const took = c.runUntil(() => c.allSee(victim, "dead", honest()), 60_000, 10);
  const health = Math.max(...honest().map((o) => c.nodes[o]!.swim.healthScore));
  return { took: took ?? Number.POSITIVE_INFINITY, health };
}

// The loopback case (5 nodes, 8 phantoms: most relays would be phantoms) and a larger cluster.
test.each([
  [5, 8],
  [20, 8],
])(
  "N=%d, %d phantoms: a crash right after they arrive is detected within its normal bound",
  (n, k) => {
    const rows: string[] = [];
    let worst = 0;
    for (const seed of [7101, 7102, 7103, 7104]) {
      const base = crashDetection(n, seed, 0);
      const attacked = crashDetection(n, seed, k);
      rows.push(
        `N=${n} seed ${seed}: ${Math.round(base.took)} ms without phantoms, ${Math.round(attacked.took)} ms with ${k} (max health score ${attacked.health})`,
      );
      worst = Math.max(worst, attacked.took);
    }
    console.log(rows.join("\n"));
    // The bound tests/loopback/membership.test.ts holds a kill -9 to.
    expect(worst).toBeLessThan(15_000);
  },
  120_000,
);
