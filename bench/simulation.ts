#!/usr/bin/env bun
/**
 * Simulator benchmark: wall time for N=1000 over 120 virtual seconds, and crash / silent-failure
 * detection times for N = 10, 100, 1000 (should grow about logarithmically). Every node runs the
 * node driver (codec, guard, claim checks) and the invariants are checked after every step unless
 * --no-invariants. --secured runs every node with a cluster key: sealed datagrams, signed claims,
 * and probes answered with the member's signature over the prober's nonce (--sizes 20,100: those
 * cluster sizes only, and the steady-state CPU of each over 120 virtual s instead of N=1000's).
 *   bun bench/simulation.ts [--seed 1] [--runs 5] [--no-invariants] [--secured] [--sizes 10,100,1000]
 */
import { parseArgs } from "node:util";
import { SimCluster } from "../src/sim/sim-cluster.ts";

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    runs: { type: "string", default: "5" },
    "no-invariants": { type: "boolean", default: false },
    secured: { type: "boolean", default: false },
    sizes: { type: "string" },
  },
});
const clusterKey = values.secured ? "bench-simulation-cluster-key" : undefined;
const sizes = values.sizes ? values.sizes.split(",").map(Number) : [10, 100, 1000];
const checkInvariants = !values["no-invariants"];
const seed = Number(values.seed);
const runs = Number(values.runs);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const cpuS = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;
if (!values.sizes) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const c = new SimCluster({ n: 1000, seed, preload: true, checkInvariants, clusterKey });
  c.run(120_000);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(
    `N=1000, 120 virtual s: ${fmt(wall)} wall (target <= 60 s), ${cpuS(cpu).toFixed(2)} s CPU, RSS ${rss.toFixed(0)} MB, invariants ${checkInvariants ? "on" : "off"}`,
  );
} else {
  for (const n of sizes) {
    const cpu0 = process.cpuUsage();
    new SimCluster({ n, seed, preload: true, checkInvariants, clusterKey }).run(120_000);
    console.log(`N=${n}, 120 virtual s${clusterKey ? ", secured" : ""}: ${cpuS(process.cpuUsage(cpu0)).toFixed(2)} s CPU`);
  }
}

console.log("\nN      crash->all dead (median)   silent->all dead (median)   runs");
for (const n of sizes) {
  const crash: number[] = [];
  const silent: number[] = [];
  for (let r = 0; r < runs; r++) {
    for (const kind of ["crash", "silent"] as const) {
      const c = new SimCluster({ n, seed: seed * 1000 + r, preload: true, checkInvariants, clusterKey });
      c.run(n >= 1000 ? 30_000 : 15_000); // let the preload gossip settle
      const victim = 1 + Math.floor(c.random() * (n - 1));
      if (kind === "crash") c.crash(victim);
      else c.pause(victim);
      const took = c.runUntil(() => c.allSee(victim, "dead"), 120_000, 10);
      (kind === "crash" ? crash : silent).push(took ?? Number.NaN);
    }
  }
  console.log(`${String(n).padEnd(6)} ${fmt(median(crash)).padEnd(26)} ${fmt(median(silent)).padEnd(27)} ${runs}`);
}
