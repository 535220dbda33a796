#!/usr/bin/env bun
/**
 * Load-sharing benchmark on loopback. Prints figures; record them in docs/BENCHMARKS.md.
 *   bun bench/load.ts              all parts
 *   bun bench/load.ts wrk          /handle_request req/s and latency (needs `wrk`): one node, the
 *                                  synthetic handler; with the backup hand-off (2 nodes); a trivial
 *                                  user handler in Workers
 *   bun bench/load.ts replication  latency one request at a time, without and with the hand-off
 *   bun bench/load.ts balance      per-node utilization spread at 80 % of capacity, gossip bytes/s
 *   bun bench/load.ts overload     goodput, requests per packet and per-device spread at 1x, 2x, 3x
 *   bun bench/load.ts kill         kill -9 of a node with 2 s of work: acknowledged but not run, run twice
 *   bun bench/load.ts devices      1000 devices at 1 packet/s, 2 nodes killed: lost, failover p99,
 *                                  simulator CPU and RSS; then 10 000 devices from one process
 *   bun bench/load.ts hardened     the same as wrk, one node, with device authentication and
 *                                  with TLS, beside plain
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocPorts, BUN, type NodeProcess, ROOT, spawnNode, startCluster, stopAll } from "../tests/support/processes.ts";
import { cycledScript, fixedBodyScript } from "./wrk-scripts.ts";

const parts = process.argv.slice(2);
const want = (p: string) => parts.length === 0 || parts.includes(p);
const tmp = mkdtempSync(join(tmpdir(), "dsef-bench-load-"));
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** Fair use stays on (its cost is in the figures) but far above what one client can send. */
const NO_LIMIT = ["--rate-limit", "10000000", "--client-concurrency", "1000000"];

async function wrk(url: string, script: string, seconds: number, connections: number): Promise<{ rps: number; p50: string; p99: string; non2xx: number }> {
  const proc = Bun.spawn(["wrk", "-t2", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, url], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p50 = /\s50%\s+(\S+)/.exec(out)?.[1] ?? "?";
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? "?";
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50, p99, non2xx };
}

async function benchWrk(): Promise<void> {
  if (Bun.which("wrk") === null) {
    console.log("wrk: not installed (apt-get install -y wrk); skipped");
    return;
  }
  await wrkOn("synthetic handler, one node (no backup to hand off to)", 1, []);
  await wrkOn("synthetic handler, 2 nodes: every packet handed to the other one before the 200", 2, ["--forward-above", "1000s", "--max-backlog", "1000s"]);
  await wrkOn("trivial user handler in 2 Workers, one node", 1, ["--handler", join(ROOT, "bench/trivial-handler.ts"), "--workers", "2"]);
}

async function wrkOn(title: string, n: number, args: string[]): Promise<void> {
  console.log(`wrk: ${title}`);
  // A capacity no load can fill: this measures the request path, not the 503 limit.
  const cluster = await startCluster(n, { capacities: Array(n).fill(1e9), args: [...NO_LIMIT, ...args] });
  const node = cluster[0];
  try {
    const fixed = join(tmp, "fixed.lua");
    writeFileSync(fixed, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = '{"processing_load": 100}'\n`);
    const unique = join(tmp, "unique.lua");
    writeFileSync(
      unique,
      // Each wrk thread gets its own prefix (its Lua random numbers are not seeded apart, so
      // math.random would give both threads the same ids: duplicates, not unique packets).
      `local threads = 0\nfunction setup(thread)\n  threads = threads + 1\n  thread:set("tid", threads)\nend\nlocal n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, string.format('{"processing_load": 100, "packet_id": "w${Date.now()}-%d-%d", "device_id": "wrk"}', tid, n))\nend\n`,
    );
    const url = `${node!.url}/handle_request`;
    await wrk(url, fixed, 2, 32); // warm-up
    for (const [name, script] of [
      ["no packet_id", fixed],
      ["unique packet_id each", unique],
    ] as const) {
      const r = await wrk(url, script, 10, 64);
      console.log(
        `wrk /handle_request (${name}), 2 threads, 64 connections, 10 s: ${Math.round(r.rps)} req/s, p50 ${r.p50}, p99 ${r.p99}, non-2xx ${r.non2xx}`,
      );
    }
    const s = await node!.status();
    console.log(
      `  node after: accepted ${s.load.accepted}, done ${s.load.done}, queued ${s.load.queued}, hand-offs ${s.load.handoffs} carrying ${s.load.handed} packets (failed ${s.load.handoff_failures}); 503s: not kept ${s.load.not_kept}, saturated or unfair ${s.load.rejected} (unfair ${s.load.unfair}), in progress ${s.load.in_progress}; idempotency window ${s.load.idempotency_window} entries`,
    );
  } finally {
    await stopAll(cluster);
  }
}

/** Client-side latency of `count` requests sent one at a time. */
async function sequential(url: string, count: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const res = await fetch(`${url}/handle_request`, { method: "POST", body: JSON.stringify({ processing_load: 1, packet_id: `seq-${Date.now()}-${i}` }) });
    await res.arrayBuffer();
    ms.push(performance.now() - t);
  }
  return ms;
}

const pctl = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function benchReplication(): Promise<void> {
  const lone = await startCluster(1, { capacities: [1e9], args: NO_LIMIT });
  const alone = await sequential(lone[0]!.url, 300).then(() => sequential(lone[0]!.url, 2000));
  await stopAll(lone);
  const pair = await startCluster(2, { capacities: [1e9, 1e9], args: [...NO_LIMIT, "--forward-above", "1000s"] });
  const kept = await sequential(pair[0]!.url, 300).then(() => sequential(pair[0]!.url, 2000));
  await stopAll(pair);
  const f = (x: number) => x.toFixed(2);
  console.log(
    `replication, one request at a time (2000): without hand-off p50 ${f(pctl(alone, 50))} ms, p99 ${f(pctl(alone, 99))} ms; with it p50 ${f(pctl(kept, 50))} ms, p99 ${f(pctl(kept, 99))} ms`,
  );
  console.log(`  added by the hand-off: p50 +${f(pctl(kept, 50) - pctl(alone, 50))} ms, p99 +${f(pctl(kept, 99) - pctl(alone, 99))} ms`);
}

async function benchOverload(): Promise<void> {
  const capacities = [1000, 800, 500];
  const total = capacities.reduce((a, b) => a + b, 0);
  for (const factor of [1, 2, 3]) {
    const nodes = await startCluster(3, { capacities });
    try {
      const seconds = 25;
      const mean = (factor * total * 0.2) / 30;
      const sim = await runSim(
        nodes,
        ["--devices", "30", "--interval", "0.2", "--duration", String(seconds), "--drain-s", "5"].concat([
          "--min-load",
          String(Math.max(1, Math.round(0.2 * mean))),
          "--max-load",
          String(Math.round(1.8 * mean)),
          "--seed",
          "7",
        ]),
      );
      await Bun.sleep(5000);
      const snap = () => Promise.all(nodes.map((n) => n.status()));
      const a = await snap();
      const t0 = performance.now();
      await Bun.sleep((seconds - 7) * 1000);
      const b = await snap();
      const goodput = b.reduce((x, s, i) => x + s.load.units_processed - a[i]!.load.units_processed, 0) / ((performance.now() - t0) / 1000);
      await sim.proc.exited;
      const r = JSON.parse(readFileSync(sim.report, "utf8"));
      const d = r.per_device_acknowledged;
      console.log(
        `overload ${factor}x (${Math.round(factor * total)} units/s offered to ${total}): goodput ${pct(goodput / total)}; requests per acknowledged packet ${r.requests_per_ack}; acknowledged ${r.acknowledged}, dropped by devices ${r.dropped}, lost ${r.lost}; per device min/mean/max ${d.min}/${d.mean}/${d.max} (±${d.spread} %); latency p50/p99 ${r.latency_ms.p50}/${r.latency_ms.p99} ms`,
      );
    } finally {
      await stopAll(nodes);
    }
  }
}

async function benchKill(): Promise<void> {
  const runs = join(tmp, `runs-${Date.now()}.log`);
  const nodes = await startCluster(3, {
    capacities: [2000, 2000, 2000],
    args: ["--handler", join(ROOT, "tests/fixtures/handler.ts"), "--workers", "2", "--forward-above", "30s", "--max-backlog", "30s"],
    env: { DSEF_TEST_LOG: runs },
  });
  try {
    const victim = nodes[1]!;
    const sim = await runSim(nodes, ["--devices", "20", "--interval", "0.1", "--duration", "12", "--min-load", "5", "--max-load", "15", "--seed", "3"]);
    await Bun.sleep(3000);
    const direct = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const res = await fetch(`${victim.url}/handle_request`, { method: "POST", body: JSON.stringify({ processing_load: 20, packet_id: `direct-${i}` }) });
        await res.arrayBuffer();
        return res.status === 200 ? `direct-${i}` : undefined;
      }),
    );
    const backlog = (await victim.status()).load.load_ratio;
    victim.kill("SIGKILL");
    await sim.proc.exited;
    const r = JSON.parse(readFileSync(sim.report, "utf8"));
    const survivors = nodes.filter((n) => n !== victim);
    for (let i = 0; i < 300; i++) {
      const s = await Promise.all(survivors.map((n) => n.status()));
      if (s.every((x) => x.load.queued === 0 && x.load.running === 0)) break;
      await Bun.sleep(100);
    }
    const count = new Map<string, number>();
    for (const l of readFileSync(runs, "utf8").trim().split("\n")) count.set(l.split(" ")[0]!, (count.get(l.split(" ")[0]!) ?? 0) + 1);
    const acked = direct.filter((x): x is string => x !== undefined);
    const notRun = acked.filter((id) => !count.has(id)).length;
    const devicePackets = [...count.keys()].filter((id) => !id.startsWith("direct-")).length;
    const twice = [...count.values()].filter((c) => c > 1).length;
    const takenOver = (await Promise.all(survivors.map((n) => n.status()))).reduce((a, s) => a + s.load.taken_over, 0);
    console.log(
      `kill -9 with ${backlog.toFixed(1)} s of accepted work (2 Workers): ${acked.length} direct packets acknowledged, ${notRun} not run; devices: ${r.acknowledged} acknowledged, ${devicePackets} run, lost ${r.lost}; run twice ${twice}; taken over by the backup ${takenOver}`,
    );
  } finally {
    await stopAll(nodes);
  }
}

/** Units of work per unit of capacity each node processed between two status snapshots. */
function utilization(before: any[], after: any[], seconds: number): number[] {
  return after.map((s, i) => (s.load.units_processed - before[i]!.load.units_processed) / (s.load.capacity * seconds));
}

function spread(u: number[]): number {
  const mean = u.reduce((a, b) => a + b, 0) / u.length;
  return Math.max(...u.map((x) => Math.abs(x / mean - 1)));
}

function udpBytes(s: any[]): number {
  return s.reduce((a, x) => a + x.transport.bytesOut, 0);
}

async function runSim(nodes: NodeProcess[], args: string[]): Promise<{ proc: ReturnType<typeof Bun.spawn>; report: string; done: Promise<string> }> {
  const report = join(tmp, `report-${Date.now()}.json`);
  const proc = Bun.spawn([BUN, join(ROOT, "esp/simulator.ts"), "--bootstrap", nodes.map((n) => n.url).join(","), "--report-json", report, ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const done = new Response(proc.stdout).text();
  return { proc, report, done };
}

async function benchBalance(): Promise<void> {
  const capacities = [1000, 800, 500, 600, 600];
  const total = capacities.reduce((a, b) => a + b, 0);
  const nodes = await startCluster(5, { capacities });
  try {
    const snap = () => Promise.all(nodes.map((n) => n.status()));
    let a = await snap();
    await Bun.sleep(10_000);
    let b = await snap();
    console.log(`gossip while idle: ${Math.round(udpBytes(b) - udpBytes(a)) / 10} UDP bytes/s for the 5 nodes`);

    // 80 %: 50 devices x 5 packets/s = 250 packets/s; mean load = 0.8 x total / 250.
    const mean = (0.8 * total) / 250;
    const seconds = 30;
    const sim = await runSim(nodes, [
      "--devices",
      "50",
      "--interval",
      "0.2",
      "--duration",
      String(seconds + 2),
      "--min-load",
      "1",
      "--max-load",
      String(2 * mean - 1),
      "--seed",
      "1",
    ]);
    await Bun.sleep(2000);
    a = await snap();
    const t0 = performance.now();
    await Bun.sleep(seconds * 1000);
    b = await snap();
    const dt = (performance.now() - t0) / 1000;
    await sim.proc.exited;
    const u = utilization(a, b, dt);
    const r = JSON.parse(readFileSync(sim.report, "utf8"));
    console.log(
      `balance at 80 % of ${total} units/s (${r.sent} packets, lost ${r.lost}): utilization ${u.map(pct).join(", ")}; spread ${pct(spread(u))} of the mean`,
    );
    console.log(
      `  gossip under 80 % load: ${Math.round((udpBytes(b) - udpBytes(a)) / dt)} UDP bytes/s; load updates published ${b.map((s, i) => s.load.load_published - a[i]!.load.load_published).join("/")}; forwarded ${b.map((s) => s.load.forwarded).join("/")}`,
    );

    // 120 %: queues grow, figures change every probe interval: the cost of publishing load.
    const sim2 = await runSim(nodes, [
      "--devices",
      "50",
      "--interval",
      "0.2",
      "--duration",
      "17",
      "--min-load",
      "1",
      "--max-load",
      String(2 * ((1.2 * total) / 250) - 1),
      "--seed",
      "2",
    ]);
    await Bun.sleep(2000);
    a = await snap();
    const t1 = performance.now();
    await Bun.sleep(15_000);
    b = await snap();
    const dt2 = (performance.now() - t1) / 1000;
    await sim2.proc.exited;
    const r2 = JSON.parse(readFileSync(sim2.report, "utf8"));
    const u2 = utilization(a, b, dt2);
    console.log(
      `overload at 120 % (${r2.sent} packets, lost ${r2.lost}, 503s ${r2.rejected_503}): utilization ${u2.map(pct).join(", ")}; gossip ${Math.round((udpBytes(b) - udpBytes(a)) / dt2)} UDP bytes/s; load updates published ${b.map((s, i) => s.load.load_published - a[i]!.load.load_published).join("/")} in ${dt2.toFixed(0)} s; forwarded ${b.map((s, i) => s.load.forwarded - a[i]!.load.forwarded).join("/")}`,
    );
  } finally {
    await stopAll(nodes);
  }
}

function procStats(pid: number): { cpuS: number; rssMB: number; peakMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(f[11]) + Number(f[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuS: ticks / 100, rssMB: kb("VmRSS") / 1024, peakMB: kb("VmHWM") / 1024 };
}

async function benchDevices(): Promise<void> {
  // Big capacities: 1000 devices x 1 packet/s x 255 units on average, with room to lose two nodes.
  const nodes = await startCluster(5, { capacities: [200_000, 200_000, 200_000, 200_000, 200_000] });
  try {
    const seconds = 40;
    const sim = await runSim(nodes, ["--devices", "1000", "--interval", "1", "--duration", String(seconds), "--seed", "3"]);
    const pid = sim.proc.pid;
    await Bun.sleep(5000);
    const s0 = procStats(pid);
    const t0 = performance.now();
    await Bun.sleep(10_000);
    nodes[1]!.kill("SIGKILL");
    await Bun.sleep(5000);
    nodes[3]!.kill("SIGKILL");
    await Bun.sleep(15_000);
    const s1 = procStats(pid);
    const cpu = (s1.cpuS - s0.cpuS) / ((performance.now() - t0) / 1000);
    await sim.proc.exited;
    const r = JSON.parse(readFileSync(sim.report, "utf8"));
    console.log(
      `simulator, 1000 devices at 1 packet/s for ${seconds} s, 2 of 5 nodes killed: sent ${r.sent}, lost ${r.lost}, failovers ${r.failovers}, latency p50/p99 ${r.latency_ms.p50}/${r.latency_ms.p99} ms, failover p99 ${r.failover_ms.p99} ms (max ${r.failover_ms.max}, ${r.failover_ms.count} packets)`,
    );
    console.log(`  simulator process: CPU ${(cpu * 100).toFixed(1)} % of one core, RSS ${s1.rssMB.toFixed(0)} MB (peak ${s1.peakMB.toFixed(0)} MB)`);
  } finally {
    await stopAll(nodes);
  }
  await benchManyDevices();
}

/** 10 000 devices from one simulator process, one packet every 10 s each (1000 packets/s). */
async function benchManyDevices(): Promise<void> {
  const nodes = await startCluster(3, { capacities: [200_000, 200_000, 200_000] });
  try {
    const seconds = 40;
    const sim = await runSim(nodes, ["--devices", "10000", "--interval", "10", "--duration", String(seconds), "--seed", "4"]);
    const pid = sim.proc.pid;
    await Bun.sleep(12_000);
    const s0 = procStats(pid);
    const t0 = performance.now();
    await Bun.sleep(20_000);
    const s1 = procStats(pid);
    const cpu = (s1.cpuS - s0.cpuS) / ((performance.now() - t0) / 1000);
    await sim.proc.exited;
    const r = JSON.parse(readFileSync(sim.report, "utf8"));
    console.log(
      `simulator, 10 000 devices at one packet per 10 s for ${seconds} s: sent ${r.sent}, acknowledged ${r.acknowledged}, lost ${r.lost}, latency p50/p99 ${r.latency_ms.p50}/${r.latency_ms.p99} ms; process CPU ${(cpu * 100).toFixed(1)} % of one core, RSS ${s1.rssMB.toFixed(0)} MB (peak ${s1.peakMB.toFixed(0)} MB)`,
    );
  } finally {
    await stopAll(nodes);
  }
}

/**
 * /handle_request with the outsider defences on: device authentication (every packet signed
 * and checked), TLS on the port, both; beside the plain figure measured the same way.
 */
async function benchHardened(): Promise<void> {
  if (Bun.which("wrk") === null) {
    console.log("wrk: not installed (apt-get install -y wrk); skipped");
    return;
  }
  const dsef = (...a: string[]) => {
    const p = Bun.spawnSync([BUN, join(ROOT, "src/cli/dsef.ts"), ...a], { stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(p.stderr.toString());
  };
  dsef("ca", "init", "--dir", join(tmp, "ca"));
  const master = "bench-device-master-0123456789abcdef";
  const masterFile = join(tmp, "device.key");
  writeFileSync(masterFile, master, { mode: 0o600 });
  const secured = ["--cluster-key", "bench-cluster-key-0123456789abcdef"];
  const caPem = readFileSync(join(tmp, "ca", "tls-ca.crt"), "utf8");
  const tlsArgs = (dir: string) => ["--tls-cert", join(dir, "tls.crt"), "--tls-key", join(dir, "tls.key"), "--tls-ca", join(tmp, "ca", "tls-ca.crt")];
  const PER_THREAD = 20_000;
  const configs: { name: string; args: (dir: string) => string[]; tls: boolean; signed: boolean; fixed?: boolean }[] = [
    { name: "plain, fixed body, fair use off", args: () => ["--rate-limit", "0", "--client-concurrency", "0"], tls: false, signed: false, fixed: true },
    { name: "plain (open mode), fixed body", args: () => [], tls: false, signed: false, fixed: true },
    { name: "plain (open mode)", args: () => [], tls: false, signed: false },
    { name: "cluster key", args: () => secured, tls: false, signed: false },
    { name: "cluster key + device auth", args: () => [...secured, "--device-key-file", masterFile], tls: false, signed: true },
    { name: "cluster key + TLS", args: (d) => [...secured, ...tlsArgs(d)], tls: true, signed: false },
    { name: "cluster key + TLS + device auth", args: (d) => [...secured, ...tlsArgs(d), "--device-key-file", masterFile], tls: true, signed: true },
  ];
  console.log(
    `wrk -t2 -c64 -d10s on one node; bodies with a packet_id cycle through ${2 * PER_THREAD} distinct ids (wrk cannot sign: signed requests are made beforehand)`,
  );
  for (const c of configs) {
    const port = allocPorts(1)[0]!;
    const dir = mkdtempSync(join(tmp, "node-"));
    if (c.tls) dsef("ca", "issue", "--tls", "--ca-key", join(tmp, "ca", "ca.key"), "--data-dir", dir, "--ip", "127.0.0.1");
    const node = await spawnNode({
      port,
      dataDir: dir,
      capacity: 1e9,
      args: [...NO_LIMIT, "--log-level", "warn", ...c.args(dir)],
      tlsCa: c.tls ? caPem : undefined,
    });
    try {
      const script = c.fixed
        ? fixedBodyScript(join(tmp, "fixed.lua"))
        : cycledScript(join(tmp, `cycled-${port}.lua`), `127.0.0.1:${port}`, 2, PER_THREAD, c.signed ? master : undefined);
      const url = `${node.url}/handle_request`;
      await wrk(url, script, 2, 32); // warm-up
      const r = await wrk(url, script, 10, 64);
      const s = await node.status();
      console.log(
        `  ${c.name.padEnd(34)} ${String(Math.round(r.rps)).padStart(6)} req/s, p50 ${r.p50}, p99 ${r.p99}, non-2xx ${r.non2xx}; accepted ${s.load.accepted}, duplicates ${s.load.duplicates}`,
      );
    } finally {
      await stopAll([node]);
    }
  }
}

if (want("wrk")) await benchWrk();
if (want("replication")) await benchReplication();
if (want("hardened")) await benchHardened();
if (want("balance")) await benchBalance();
if (want("overload")) await benchOverload();
if (want("kill")) await benchKill();
if (want("devices")) await benchDevices();
