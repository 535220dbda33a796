#!/usr/bin/env bun
/**
 * Simulator benchmark: wall time for N=1000 over 120 virtual seconds, and crash / silent-failure
 * detection times for N = 10, 100, 1000 (should grow about logarithmically). Every node runs the
 * node driver (codec, guard, claim checks) and the invariants are checked after every step unless
 * --no-invariants.
 *   bun bench/simulation.ts [--seed 1] [--runs 5] [--no-invariants]
 */
import { parseArgs } from "node:util";
import { SimCluster } from "../src/sim/sim-cluster.ts";

const { values } = parseArgs({
  options: { seed: { type: "string", default: "1" }, runs: { type: "string", default: "5" }, "no-invariants": { type: "boolean", default: false } },
});
const checkInvariants = !values["no-invariants"];
const seed = Number(values.seed);
const runs = Number(values.runs);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

{
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const c = new SimCluster({ n: 1000, seed, preload: true, checkInvariants });
  c.run(120_000);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(
    `N=1000, 120 virtual s: ${fmt(wall)} wall (target <= 60 s), ${fmt((cpu.user + cpu.system) / 1000)} CPU, RSS ${rss.toFixed(0)} MB, invariants ${checkInvariants ? "on" : "off"}`,
  );
}

console.log("\nN      crash->all dead (median)   silent->all dead (median)   runs");
for (const n of [10, 100, 1000]) {
  const crash: number[] = [];
  const silent: number[] = [];
  for (let r = 0; r < runs; r++) {
    for (const kind of ["crash", "silent"] as const) {
      const c = new SimCluster({ n, seed: seed * 1000 + r, preload: true, checkInvariants });
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
