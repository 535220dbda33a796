#!/usr/bin/env bun
/**
 * The simulator at scale: N = 10 … 10 000 simulated nodes, each running the node driver a real
 * node runs (codec, dispatch, wake-ups) over the simulated network, for 60 virtual seconds from
 * a settled member table (lan profile, 1–3 ms latency, no loss). Open mode: no cluster key, so
 * no sealing and no signatures (bench/simulation.ts --secured measures those). The invariant
 * checker runs unless --no-invariants.
 *
 * A few members fail at staggered times after 10 s, crashed (their HTTP port refuses) or paused
 * (silent). For each: the time to its first detection anywhere (a suspicion, or a death on a
 * refused connection), in protocol periods, beside the SWIM paper's e/(e−1); and the time for
 * its death to reach every survivor once someone declared it, in gossip rounds, beside
 * push gossip's log₍k+1₎N + ln(N)/k rounds for fanout k (SWIM: O(log N)).
 *
 * Each (N, seed) runs in a child process of its own, so the wall time and peak RSS printed for
 * it are its own.
 *   npx bun bench/sim-scale.ts [--sizes 10,100,1000,10000] [--runs K] [--seed 1] [--seconds 60] [--no-invariants]
 */
import { parseArgs } from "node:util";
import { profiles } from "../src/membership/timing.ts";
import { SimCluster } from "../src/sim/sim-cluster.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10,100,1000,10000" },
    runs: { type: "string" },
    seed: { type: "string", default: "1" },
    seconds: { type: "string", default: "60" },
    "no-invariants": { type: "boolean", default: false },
    child: { type: "string" },
  },
});

interface Victim {
  kind: "crash" | "silent";
  at: number;
  /** First suspicion or death of it at any observer. */
  detected?: number;
  /** When the last survivor suspected it or took it for dead (undefined: some survivor never did). */
  knownEverywhere?: number;
  /** First death at any observer. */
  firstDead?: number;
  /** When the last survivor took it for dead (undefined: some survivor never did). */
  allDead?: number;
}

interface RunResult {
  n: number;
  seed: number;
  virtualMs: number;
  buildMs: number;
  wallMs: number;
  cpuMs: number;
  maxRssMB: number;
  invariants: boolean;
  victims: Victim[];
}

const SETTLE_MS = 10_000;
const SILENT_FROM_MS = 30_000;
const t = profiles.lan;

/** Failures per kind in one run: a handful, and few enough to leave the cluster mostly whole. */
const failuresPerKind = (n: number) => (n < 50 ? 1 : n < 1000 ? 2 : 5);
const runsFor = (n: number) => (values.runs ? Number(values.runs) : n <= 100 ? 10 : n <= 1000 ? 3 : 1);

function runOne(n: number, seed: number, virtualMs: number, invariants: boolean): RunResult {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const c = new SimCluster({ n, seed, preload: true, checkInvariants: invariants });
  const buildMs = performance.now() - t0;
  const k = failuresPerKind(n);
  const victims = new Map<number, Victim>();
  const picked = new Set<number>();
  const pickVictim = () => {
    for (;;) {
      const i = 1 + Math.floor(c.random() * (n - 1));
      if (!picked.has(i)) return (picked.add(i), i);
    }
  };
  const plan: { at: number; index: number; kind: Victim["kind"] }[] = [];
  for (let i = 0; i < k; i++) {
    // Staggered by a non-round step: failures land at every phase of the probe period.
    plan.push({ at: SETTLE_MS + i * 2317, index: pickVictim(), kind: "crash" });
    plan.push({ at: SILENT_FROM_MS + i * 2317, index: pickVictim(), kind: "silent" });
  }
  const idOf = new Map(plan.map((p) => [c.idOf(p.index), p.index]));
  // The last time each observer took each victim for dead (deleted when it stops holding it
  // dead), and when each first heard of the failure (suspect or dead).
  const deadSince = new Map<number, Map<number, number>>();
  const heardAt = new Map<number, Map<number, number>>();
  c.onEvent(({ observer, event }) => {
    const v = idOf.get(event.member.info.id);
    if (v === undefined) return;
    const victim = victims.get(v);
    if (!victim) return;
    if (event.type === "suspect" || event.type === "dead") {
      victim.detected ??= event.at;
      const heard = heardAt.get(v)!;
      if (!heard.has(observer)) heard.set(observer, event.at);
    }
    const held = deadSince.get(v)!;
    if (event.type === "dead") {
      victim.firstDead ??= event.at;
      held.set(observer, event.at);
    } else held.delete(observer);
  });
  for (const p of plan) {
    c.clock.at(p.at, () => {
      victims.set(p.index, { kind: p.kind, at: p.at });
      deadSince.set(p.index, new Map());
      heardAt.set(p.index, new Map());
      if (p.kind === "crash") c.crash(p.index);
      else c.pause(p.index);
    });
  }
  c.run(virtualMs);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // Survivors: nodes up at the end (the paused victims are not up).
  const survivors = c.upNodes();
  for (const [index, v] of victims) {
    const others = survivors.filter((o) => o !== index);
    const held = deadSince.get(index)!;
    if (others.every((o) => held.has(o))) v.allDead = Math.max(...others.map((o) => held.get(o)!));
    const heard = heardAt.get(index)!;
    if (others.every((o) => heard.has(o))) v.knownEverywhere = Math.max(...others.map((o) => heard.get(o)!));
  }
  return {
    n,
    seed,
    virtualMs,
    buildMs,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    invariants,
    victims: [...victims.values()],
  };
}

if (values.child) {
  const [n, seed] = values.child.split(":").map(Number) as [number, number];
  console.log(JSON.stringify(runOne(n, seed, Number(values.seconds) * 1000, !values["no-invariants"])));
  process.exit(0);
}

const sizes = values.sizes.split(",").map(Number);
const baseSeed = Number(values.seed);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "—");
const E_OVER_E_MINUS_1 = Math.E / (Math.E - 1);
const pushRounds = (n: number, k: number) => Math.log(n) / Math.log(k + 1) + Math.log(n) / k;

const results = new Map<number, RunResult[]>();
for (const n of sizes) {
  const runs: RunResult[] = [];
  for (let r = 0; r < runsFor(n); r++) {
    const args = [import.meta.path, "--child", `${n}:${baseSeed * 1000 + r}`, "--seconds", values.seconds];
    if (values["no-invariants"]) args.push("--no-invariants");
    const p = Bun.spawnSync([process.execPath, ...args], { stdout: "pipe", stderr: "inherit" });
    if (p.exitCode !== 0) throw new Error(`N=${n} run ${r} failed (exit ${p.exitCode})`);
    const res = JSON.parse(p.stdout.toString().trim().split("\n").at(-1)!) as RunResult;
    runs.push(res);
    console.error(
      `  N=${n} seed ${res.seed}: build ${f(res.buildMs / 1000, 1)} s, ${res.virtualMs / 1000} virtual s in ${f(res.wallMs / 1000, 1)} s wall, ${f(res.cpuMs / 1000, 1)} s CPU, peak RSS ${f(res.maxRssMB, 0)} MB`,
    );
  }
  results.set(n, runs);
}

const inv = values["no-invariants"] ? "off" : "on";
console.log(`\nCost: ${values.seconds} virtual s from a settled table, open mode, invariants ${inv} (worst run of each size)`);
console.log("N        runs  build      wall        CPU         peak RSS");
for (const [n, runs] of results) {
  const worst = (key: "buildMs" | "wallMs" | "cpuMs" | "maxRssMB") => Math.max(...runs.map((r) => r[key]));
  console.log(
    `${String(n).padEnd(8)} ${String(runs.length).padEnd(5)} ${`${f(worst("buildMs") / 1000, 1)} s`.padEnd(10)} ${`${f(worst("wallMs") / 1000, 1)} s`.padEnd(11)} ${`${f(worst("cpuMs") / 1000, 1)} s`.padEnd(11)} ${f(worst("maxRssMB"), 0)} MB`,
  );
}

const period = t.probeIntervalMs;
const round = t.gossipIntervalMs;
const k = t.gossipFanout;
console.log(
  `\nFirst detection: failure -> first suspicion or death anywhere, in protocol periods (${period} ms). SWIM: e/(e-1) = ${f(E_OVER_E_MINUS_1)} periods`,
);
console.log("N        failures  crash (mean)  silent (mean)  all: mean  median  max");
for (const [n, runs] of results) {
  const vs = runs.flatMap((r) => r.victims);
  const det = (kind?: Victim["kind"]) => vs.filter((v) => (!kind || v.kind === kind) && v.detected !== undefined).map((v) => (v.detected! - v.at) / period);
  const all = det();
  console.log(
    `${String(n).padEnd(8)} ${String(vs.length).padEnd(9)} ${f(mean(det("crash"))).padEnd(13)} ${f(mean(det("silent"))).padEnd(14)} ${f(mean(all)).padEnd(10)} ${f(median(all)).padEnd(7)} ${f(Math.max(...all))}`,
  );
}

console.log(
  `\nDissemination, in gossip rounds (${round} ms, fanout ${k}). The news: first detection -> every survivor suspects it or holds it dead` +
    `\n(push gossip with fanout ${k}: about log${k + 1}(N) + ln(N)/${k} rounds; SWIM: O(log N)). The death: first death -> every survivor holds it dead.`,
);
console.log("N        news, crash (median)  news, silent (median)  push gossip  death, crash (median)  death, silent (median)  not everywhere");
for (const [n, runs] of results) {
  const vs = runs.flatMap((r) => r.victims);
  const news = (kind: Victim["kind"]) =>
    vs.filter((v) => v.kind === kind && v.knownEverywhere !== undefined).map((v) => (v.knownEverywhere! - v.detected!) / round);
  const death = (kind: Victim["kind"]) => vs.filter((v) => v.kind === kind && v.allDead !== undefined).map((v) => (v.allDead! - v.firstDead!) / round);
  const missing = vs.filter((v) => v.allDead === undefined || v.knownEverywhere === undefined).length;
  console.log(
    [
      String(n).padEnd(8),
      f(median(news("crash"))).padEnd(21),
      f(median(news("silent"))).padEnd(22),
      f(pushRounds(n, k), 1).padEnd(12),
      f(median(death("crash"))).padEnd(22),
      f(median(death("silent"))).padEnd(23),
      String(missing),
    ].join(" "),
  );
}
