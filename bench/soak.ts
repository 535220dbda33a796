#!/usr/bin/env bun
/**
 * The nemesis soak's long profile (about 12 minutes): 48 seeded faults of every kind against
 * 5 (growing to 8) edge-node processes under ESP simulator load, checked continuously. Prints
 * the timeline and verdicts as it goes, then the figures as a Markdown table for BENCHMARKS.md.
 *
 *   npx bun bench/soak.ts [--profile long|short] [--seed N] [--json FILE]
 *
 * As root with iproute2 + iptables it runs in a network namespace of its own (UDP loss and
 * partitions included); otherwise those two faults are skipped. Same engine as the CI test
 * (tests/soak/nemesis.test.ts, short profile).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { SoakResult } from "../tests/support/nemesis/engine.ts";

const { values } = parseArgs({ options: { profile: { type: "string", default: "long" }, seed: { type: "string" }, json: { type: "string" } }, strict: true });
const json = values.json ?? join(mkdtempSync(join(tmpdir(), "dsef-soak-bench-")), "result.json");
const argv = [process.execPath, join(import.meta.dir, "../tests/support/nemesis/run.ts"), "--profile", values.profile!, "--json", json];
if (values.seed !== undefined) argv.push("--seed", values.seed);
const child = Bun.spawn(argv, { stdio: ["inherit", "inherit", "inherit"] });
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
const code = await child.exited;

let r: SoakResult;
try {
  r = JSON.parse(readFileSync(json, "utf8")) as SoakResult;
} catch {
  process.exit(code || 1);
}
const f = r.figures as Record<string, any>;
const row = (cells: unknown[]) => `| ${cells.join(" | ")} |`;
const lines = [
  "",
  `Seed ${r.seed}, profile ${r.profile}: ${f.duration_s} s, ${f.faults_run} faults run (${f.faults_skipped} skipped), ${r.nodes} nodes, ${f.poll_rounds} poll rounds.`,
  "",
  row(["invariant", "verdict", "violations", "detail"]),
  row(["---", "---", "---", "---"]),
  ...r.verdicts.map((v) => row([v.invariant, v.pass ? "PASS" : "FAIL", v.violations, v.detail])),
  "",
  row(["fault", "count", "one cluster again after the heal: p50", "max", "bound"]),
  row(["---", "---", "---", "---", "---"]),
  ...Object.entries(f.convergence_by_fault as Record<string, { count: number; p50_ms: number; max_ms: number; bound_ms: number }>).map(([k, c]) =>
    row([k, c.count, `${(c.p50_ms / 1000).toFixed(2)} s`, `${(c.max_ms / 1000).toFixed(2)} s`, `${c.bound_ms / 1000} s`]),
  ),
  "",
  row(["figure", "value"]),
  row(["---", "---"]),
  row([
    "load figure lag (a node's own figure → a peer lists it, as polled)",
    `p50 ${f.load_lag_ms.p50} ms, p99 ${f.load_lag_ms.p99} ms, max ${f.load_lag_ms.max} ms (${f.load_lag_ms.samples} samples)`,
  ]),
  row(["load pair checks", f.load_pair_checks]),
  row(["packets dropped by the loss and partition rules", f.packets_dropped_by_faults]),
  row(["device packets sent / acknowledged / lost", `${f.esp.sent} / ${f.esp.acknowledged} / ${f.esp.lost}`]),
  row(["device retries / failovers / 503s", `${f.esp.retries} / ${f.esp.failovers} / ${f.esp.rejected_503}`]),
  row(["device latency p50 / p95 / p99 / max", `${f.esp.latency_ms?.p50} / ${f.esp.latency_ms?.p95} / ${f.esp.latency_ms?.p99} / ${f.esp.latency_ms?.max} ms`]),
  row(["failover time p50 / p99 (packets that failed over)", `${f.esp.failover_ms?.p50} / ${f.esp.failover_ms?.p99} ms (${f.esp.failover_ms?.count} packets)`]),
  row(["packets logged accepted / taken twice", `${f.packets_logged_accepted} / ${f.packets_taken_twice}`]),
];
console.log(lines.join("\n"));
process.exit(code);
