/**
 * The nemesis soak: a real cluster of edge-node processes on loopback under ESP simulator load,
 * a seeded schedule of faults, and a checker reading every node's /peers and /status a few
 * times a second throughout. Returns the timeline, a verdict per invariant and the figures.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { allocPorts, BUN, ROOT } from "../processes.ts";
import { Checker, INVARIANTS, type Invariant, type NodeReading, type Violation } from "./checker.ts";
import type { NetFaults } from "./net-faults.ts";
import { type PacketTally, SoakNode } from "./nodes.ts";
import { allNodeNames, describeFault, type Fault, type FaultKind, makeSchedule, NETWORK_FAULTS, type Profile, type Step } from "./schedule.ts";

/** Probe interval of the nodes' (default, lan) timing profile. */
const PROBE_MS = 1000;

/** How long after a fault heals the cluster must be one again (the 5 s for joins and rejoins). */
export const CONVERGE_BOUND_MS: Record<FaultKind, number> = {
  kill: 5000,
  leave: 5000,
  newcomer: 5000,
  // A resumed node that was declared dead hears of it from gossip (sent to dead members for 30 s) and refutes.
  pause: 10_000,
  loss: 10_000,
  // Each side retries a dead member every reconnect interval (10 s), then gossip spreads the news.
  partition: 20_000,
};
/** Give up waiting for one cluster after twice the bound and 10 s (and stop the schedule: later faults would prove nothing). */
const convergeCapMs = (kind: FaultKind) => 2 * CONVERGE_BOUND_MS[kind] + 10_000;

export interface SoakOptions {
  profile: Profile;
  seed: number;
  net: NetFaults;
  /** Printed as the run goes (timeline lines). */
  print: (line: string) => void;
  logDir?: string;
}

export interface Verdict {
  invariant: Invariant;
  pass: boolean;
  violations: number;
  detail: string;
}

export interface SoakResult {
  seed: number;
  profile: string;
  nodes: number;
  faults: { index: number; kind: FaultKind; description: string; skipped?: string; convergeMs?: number; boundMs?: number }[];
  verdicts: Verdict[];
  pass: boolean;
  figures: Record<string, unknown>;
  violations: Violation[];
  timeline: { at: number; text: string }[];
  logDir: string;
  durationS: number;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const r0 = (n: number) => Math.round(n);

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const p = o.profile;
  const steps = makeSchedule(o.seed, p);
  const names = allNodeNames(steps, p);
  const logDir = o.logDir ?? mkdtempSync(join(tmpdir(), "dsef-soak-"));
  mkdirSync(logDir, { recursive: true });
  const t0 = performance.now();
  const clock = () => performance.now() - t0;
  const stamp = (at: number) => `[${(at / 1000).toFixed(1).padStart(6)} s]`;

  const checker = new Checker({ probeMs: PROBE_MS, pollMs: p.pollMs, loadBoundMs: 2 * PROBE_MS + p.pollMs, loadSettleMs: 3 * PROBE_MS });
  let printed = 0;
  const flush = () => {
    for (; printed < checker.timeline.length; printed++) {
      const e = checker.timeline[printed]!;
      o.print(`${stamp(e.at)} ${e.text}`);
    }
  };
  const note = (text: string) => {
    checker.note(clock(), text);
    flush();
  };

  o.print(
    `nemesis soak: profile ${p.name}, seed ${o.seed} (replay: DSEF_SOAK_SEED=${o.seed}), ${p.nodes} nodes, ${steps.length} faults; node logs in ${logDir}`,
  );
  if (o.net.support.why) o.print(`network faults: ${o.net.support.loss ? "UDP loss only" : "none"}: ${o.net.support.why}`);
  for (const s of steps) o.print(`  fault ${s.index + 1}: ${describeFault(s.fault)}${skipReason(s.fault, o.net) ? " (will be skipped)" : ""}`);

  // ---- nodes ----
  const packets: PacketTally = new Map();
  const ports = allocPorts(names.length);
  const nodes = new Map<string, SoakNode>();
  const dataRoot = mkdtempSync(join(tmpdir(), "dsef-soak-data-"));
  const makeNode = (name: string, bootstrap: string | undefined) => {
    const i = names.indexOf(name);
    const port = ports[i]!;
    const n = new SoakNode(
      { name, port, capacity: p.capacities[i % p.capacities.length]!, bootstrap, dataDir: join(dataRoot, name), logDir, prefix: o.net.enter(name, port) },
      packets,
    );
    nodes.set(name, n);
    return n;
  };
  const startNode = async (n: SoakNode) => {
    await n.start();
    checker.nodeStarted(clock(), n.name);
  };

  // ---- the poller: every node's /peers and /status, every pollMs ----
  let polling = true;
  let lastReadings: NodeReading[] = [];
  let lastRoundAt = -1;
  let roundWaiters: (() => void)[] = [];
  const poller = (async () => {
    while (polling) {
      const at = clock();
      const up = [...nodes.values()].filter((n) => n.state === "up");
      const timeout = Math.max(1000, p.pollMs * 3);
      lastReadings = await Promise.all(
        up.map(async (n): Promise<NodeReading> => {
          const generation = n.generation;
          try {
            const [peers, status] = await Promise.all([n.peers(timeout), n.status(timeout)]);
            const t = status.transport ?? {};
            return {
              name: n.name,
              generation,
              peers,
              ready: status.ready === true,
              counters: {
                schema: t.drops?.schema ?? 0,
                malformed: t.drops?.malformed ?? 0,
                updatesDropped: t.updatesDropped ?? 0,
                entriesDropped: status.member_table?.entriesDropped ?? 0,
              },
            };
          } catch {
            return { name: n.name, generation };
          }
        }),
      );
      // A node stopped or killed while we read it: its answer (or silence) is not a reading.
      checker.round(
        at,
        lastReadings.filter((r) => nodes.get(r.name)!.state === "up" && nodes.get(r.name)!.generation === r.generation),
      );
      lastRoundAt = at;
      flush();
      const waiters = roundWaiters;
      roundWaiters = [];
      for (const w of waiters) w();
      await Bun.sleep(Math.max(0, at + p.pollMs - clock()));
    }
  })();
  const nextRound = () => new Promise<void>((resolve) => roundWaiters.push(resolve));

  /** Wait for a round that started after `since` and found one cluster; returns ms from `since` to when it became one. */
  const waitWhole = async (since: number, capMs: number): Promise<number | undefined> => {
    for (;;) {
      await nextRound();
      const whole = checker.wholeSince;
      if (whole !== undefined && lastRoundAt >= since) return Math.max(whole, since) - since;
      if (clock() - since > capMs) return undefined;
    }
  };

  let esp: Subprocess | undefined;
  const espReport = join(logDir, "esp-report.json");
  const faults: SoakResult["faults"] = [];
  let droppedByFaults = 0;
  try {
    // ---- form the cluster: n0 first, the others through it ----
    const first = makeNode(names[0]!, undefined);
    await startNode(first);
    await Promise.all(names.slice(1, p.nodes).map((name) => startNode(makeNode(name, first.url))));
    const formed = await waitWhole(0, 60_000);
    if (formed === undefined) throw new Error(`the first ${p.nodes} nodes did not form one cluster: ${checker.gaps(lastReadings)}`);
    checker.faultEnded(clock());
    note(`cluster of ${p.nodes} formed`);

    // ---- device load ----
    esp = Bun.spawn(
      [BUN, join(ROOT, "esp/simulator.ts"), "--bootstrap", [...nodes.values()].map((n) => n.url).join(",")]
        .concat([
          "--devices",
          String(p.esp.devices),
          "--interval",
          String(p.esp.intervalS),
          "--min-load",
          String(p.esp.minLoad),
          "--max-load",
          String(p.esp.maxLoad),
        ])
        .concat(["--seed", String(o.seed % 2 ** 31), "--report-json", espReport, "--refresh-ms", "1000"]),
      { stdout: Bun.file(join(logDir, "esp.log")), stderr: Bun.file(join(logDir, "esp.err")), stdin: "ignore" },
    );
    note(`ESP simulator: ${p.esp.devices} devices, a packet every ${p.esp.intervalS} s each, ${p.esp.minLoad}-${p.esp.maxLoad} units`);
    await Bun.sleep(5000);

    // ---- the faults ----
    for (const step of steps) {
      const skipped = skipReason(step.fault, o.net);
      const description = describeFault(step.fault);
      if (skipped) {
        note(`fault ${step.index + 1} skipped: ${description} (${skipped})`);
        faults.push({ index: step.index, kind: step.fault.kind, description, skipped });
        continue;
      }
      note(`fault ${step.index + 1}: ${description}`);
      checker.faultStarted(clock(), step.fault);
      const healedAt = await applyFault(step, nodes, o.net, makeNode, startNode, checker, note, clock);
      checker.faultHealed();
      const bound = CONVERGE_BOUND_MS[step.fault.kind];
      const ms = await waitWhole(healedAt, convergeCapMs(step.fault.kind));
      if (ms === undefined) {
        checker.fail(
          clock(),
          "one cluster",
          `not one cluster ${convergeCapMs(step.fault.kind) / 1000} s after fault ${step.index + 1} healed: ${checker.gaps(lastReadings)}`,
        );
        faults.push({ index: step.index, kind: step.fault.kind, description, boundMs: bound });
        note("the cluster did not heal: the rest of the schedule is not run");
        break;
      } else {
        checker.recordConvergence(step.fault.kind, ms, bound);
        if (ms > bound)
          checker.fail(clock(), "one cluster", `one cluster only ${(ms / 1000).toFixed(1)} s after fault ${step.index + 1} healed (bound ${bound / 1000} s)`);
        note(`one cluster again ${(ms / 1000).toFixed(1)} s after the heal`);
      }
      faults.push({ index: step.index, kind: step.fault.kind, description, convergeMs: ms, boundMs: bound });
      checker.faultEnded(clock());
      await Bun.sleep(step.calmMs);
    }

    // ---- the end: devices stop and report ----
    note("schedule done; stopping the devices");
    esp.kill("SIGTERM");
    const code = await Promise.race([esp.exited, Bun.sleep(60_000).then(() => "timeout" as const)]);
    if (code === "timeout") esp.kill("SIGKILL");
  } finally {
    droppedByFaults = o.net.droppedPackets();
    polling = false;
    await poller;
    esp?.kill("SIGKILL");
    await Promise.all([...nodes.values()].map((n) => n.stop("SIGKILL")));
    for (const n of nodes.values()) n.closeLog();
    o.net.close();
    rmSync(dataRoot, { recursive: true, force: true });
  }

  // ---- no acknowledged packet lost ----
  let report: Record<string, any> = {};
  try {
    report = JSON.parse(readFileSync(espReport, "utf8"));
  } catch {
    checker.fail(clock(), "no packet lost", "the ESP simulator wrote no report");
  }
  const taken = packets.size;
  const twice = [...packets.values()].filter((c) => c > 1).length;
  if (report.lost !== undefined) {
    if (report.lost !== 0) checker.fail(clock(), "no packet lost", `the devices lost ${report.lost} of ${report.sent} packets`);
    if (taken < report.acknowledged)
      checker.fail(clock(), "no packet lost", `${report.acknowledged} packets acknowledged but only ${taken} logged as accepted by a node`);
  }
  flush();

  const verdicts: Verdict[] = INVARIANTS.map((invariant) => {
    const vs = checker.violations.filter((v) => v.invariant === invariant);
    const detail: Record<Invariant, string> = {
      "one cluster": `${checker.convergeMs.length} heals, slowest ${(Math.max(0, ...checker.convergeMs.map((c) => c.ms)) / 1000).toFixed(1)} s`,
      "no false deaths": `${checker.rounds} rounds of ${names.length} views`,
      "load known": `${checker.checkedLoadPairs} pair checks, figure lag p50 ${r0(pct(checker.loadLagMs, 50))} ms, p99 ${r0(pct(checker.loadLagMs, 99))} ms`,
      "no schema drops": "drops.schema, drops.malformed, updatesDropped, member_table.entriesDropped",
      "no packet lost": `sent ${report.sent ?? "?"}, acknowledged ${report.acknowledged ?? "?"}, lost ${report.lost ?? "?"}, logged accepted ${taken}`,
    };
    return { invariant, pass: vs.length === 0, violations: vs.length, detail: detail[invariant] };
  });

  const byKind: Record<string, { count: number; p50_ms: number; max_ms: number; bound_ms: number }> = {};
  for (const kind of new Set(checker.convergeMs.map((c) => c.kind))) {
    const xs = checker.convergeMs.filter((c) => c.kind === kind).map((c) => c.ms);
    byKind[kind] = { count: xs.length, p50_ms: r0(pct(xs, 50)), max_ms: r0(Math.max(...xs)), bound_ms: CONVERGE_BOUND_MS[kind] };
  }
  const figures = {
    duration_s: Math.round(clock() / 1000),
    faults_run: faults.filter((f) => !f.skipped).length,
    faults_skipped: faults.filter((f) => f.skipped).length,
    convergence_by_fault: byKind,
    load_lag_ms: {
      samples: checker.loadLagMs.length,
      p50: r0(pct(checker.loadLagMs, 50)),
      p99: r0(pct(checker.loadLagMs, 99)),
      max: r0(Math.max(0, ...checker.loadLagMs)),
    },
    load_pair_checks: checker.checkedLoadPairs,
    poll_rounds: checker.rounds,
    packets_dropped_by_faults: droppedByFaults,
    esp: {
      sent: report.sent,
      acknowledged: report.acknowledged,
      lost: report.lost,
      retries: report.retries,
      failovers: report.failovers,
      rejected_503: report.rejected_503,
      latency_ms: report.latency_ms,
      failover_ms: report.failover_ms,
    },
    packets_logged_accepted: taken,
    packets_taken_twice: twice,
  };
  return {
    seed: o.seed,
    profile: p.name,
    nodes: names.length,
    faults,
    verdicts,
    pass: verdicts.every((v) => v.pass),
    figures,
    violations: checker.violations,
    timeline: checker.timeline,
    logDir,
    durationS: Math.round(clock() / 1000),
  };
}

function skipReason(f: Fault, net: NetFaults): string | undefined {
  if (!NETWORK_FAULTS.includes(f.kind)) return undefined;
  if (f.kind === "loss" && !net.support.loss) return net.support.why;
  if (f.kind === "partition" && !net.support.partition) return net.support.why;
  return undefined;
}

/** Run one fault to its heal; returns when (run clock) it was healed. */
async function applyFault(
  step: Step,
  nodes: Map<string, SoakNode>,
  net: NetFaults,
  makeNode: (name: string, bootstrap: string | undefined) => SoakNode,
  startNode: (n: SoakNode) => Promise<void>,
  checker: Checker,
  note: (text: string) => void,
  clock: () => number,
): Promise<number> {
  const f = step.fault;
  switch (f.kind) {
    case "kill":
    case "leave": {
      const n = nodes.get(f.target)!;
      checker.nodeDown(n.name);
      const code = await n.stop(f.kind === "kill" ? "SIGKILL" : "SIGTERM");
      if (f.kind === "leave") note(`${n.name} left and exited (code ${code})`);
      await Bun.sleep(f.durationMs);
      await startNode(n);
      note(`${n.name} restarted with its data dir`);
      // From the process answering HTTP: its start-up time on a busy machine is not membership.
      return clock();
    }
    case "pause": {
      const n = nodes.get(f.target)!;
      checker.nodeDown(n.name);
      n.state = "paused";
      n.signal("SIGSTOP");
      await Bun.sleep(f.durationMs);
      const healedAt = clock();
      n.signal("SIGCONT");
      n.state = "up";
      checker.nodeResumed(n.name);
      note(`${n.name} resumed`);
      return healedAt;
    }
    case "newcomer": {
      const through = nodes.get(f.through)!;
      const n = makeNode(f.name, through.url);
      await startNode(n);
      return clock();
    }
    case "loss":
      net.loss(f.rate);
      await Bun.sleep(f.durationMs);
      net.heal();
      note("UDP loss ended");
      return clock();
    case "partition":
      net.partition(f.sides);
      await Bun.sleep(f.durationMs);
      net.heal();
      note("partition healed");
      return clock();
  }
}
