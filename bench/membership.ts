#!/usr/bin/env bun
/**
 * Membership benchmark over real processes: D-SEF edge nodes, and HashiCorp Serf agents when
 * `serf` is installed, measured by the same harness in the same run.
 *
 *   npx bun bench/membership.ts [--sizes 5,10,20,50] [--runs N] [--serf | --no-serf]
 *                               [--loss 10,30 | --no-loss] [--loss-seconds 60] [--json FILE]
 *
 * It needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN) and `ip`/`iptables`: everything runs in a
 * network namespace of its own, so the loss rule and byte counters never touch the host.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildBinary } from "../scripts/build-binary.ts";
import { type Driver, dsef, type LaunchOptions, type SystemName, serf } from "./lib/agents.ts";
import { activeClusters } from "./lib/cluster.ts";
import { createNamespace, deleteNamespace, installUdpCounter, NETNS_ENV, namespaceName, removeStaleNamespaces, sh } from "./lib/netns.ts";
import { printLoss, printMembership, type Results } from "./lib/report.ts";
import { type LossSample, lossRun, type MembershipSample, membershipRun, type PortRange } from "./lib/scenarios.ts";

const USAGE = `usage: npx bun bench/membership.ts [options]
  --sizes LIST          cluster sizes (default 5,10,20,50)
  --runs N              repetitions per size and system (default 1)
  --serf / --no-serf    measure HashiCorp Serf too (default: when 'serf' is on PATH)
  --loss LIST           UDP loss percentages for the false-death check (default 10,30)
  --no-loss             skip the false-death check
  --loss-n N            cluster size for the false-death check (default 10)
  --loss-seconds S      how long the loss lasts (default 60)
  --idle-seconds S      idle measurement window (default 20)
  --settle-seconds S    quiet time before the idle window (default 5, or 60 from 100 nodes on:
                        a cluster that size is still re-sending its joins for 30-60 s)
  --detect-timeout S    give up waiting for a detection after S seconds (default 90)
  --dsef-args "ARGS"    extra flags for every D-SEF node (e.g. "--profile local")
  --bun-args "ARGS"     Bun runtime flags for every D-SEF node (e.g. "--smol")
  --node-env "K=V ..."  environment for every D-SEF node (e.g. "BUN_GC_TIMER_DISABLE=1")
  --bundle              run the nodes from a \`bun build --minify\` bundle of src/main.ts
  --compiled            run the nodes from the single binary (scripts/build-binary.ts): dsef node ...
  --binary FILE         run the nodes from this already built dsef binary
  --json FILE           also write the raw samples as JSON
  --trace               print every detection's event timeline (who suspected / declared, when)`;

/** Port ranges inside the namespace (the benchmark's assigned range, 47000-49999). */
const PORTS: Record<SystemName, PortRange> = { dsef: { first: 47000, last: 47999 }, serf: { first: 48000, last: 49999 } };

function options() {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      sizes: { type: "string", default: "5,10,20,50" },
      runs: { type: "string", default: "1" },
      serf: { type: "boolean" },
      "no-serf": { type: "boolean" },
      loss: { type: "string", default: "10,30" },
      "no-loss": { type: "boolean" },
      "loss-n": { type: "string", default: "10" },
      "loss-seconds": { type: "string", default: "60" },
      "idle-seconds": { type: "string", default: "20" },
      "settle-seconds": { type: "string" },
      "detect-timeout": { type: "string", default: "90" },
      "dsef-args": { type: "string", default: "" },
      "bun-args": { type: "string", default: "" },
      "node-env": { type: "string", default: "" },
      bundle: { type: "boolean" },
      compiled: { type: "boolean" },
      binary: { type: "string" },
      json: { type: "string" },
      trace: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const list = (v: string) => v.split(",").filter(Boolean).map(Number);
  const num = (v: string, name: string) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`--${name}: expected a positive number, got '${v}'`);
    return x;
  };
  const serfInstalled = sh(["sh", "-c", "command -v serf"]).ok;
  if (values.serf && !serfInstalled) throw new Error("--serf: 'serf' is not on PATH (apt-get install -y serf)");
  if ([values.bundle, values.compiled, values.binary].filter(Boolean).length > 1) throw new Error("--bundle, --compiled and --binary: choose one");
  if ((values.compiled || values.binary) && values["bun-args"])
    throw new Error("--bun-args: not with a compiled binary (its runtime flags are fixed at build time)");
  const sizes = list(values.sizes);
  if (sizes.some((n) => !Number.isInteger(n) || n < 3 || n > 200)) throw new Error("--sizes: cluster sizes must be integers from 3 to 200");
  return {
    sizes,
    runs: num(values.runs, "runs"),
    serf: !values["no-serf"] && serfInstalled,
    loss: values["no-loss"] ? [] : list(values.loss),
    lossN: num(values["loss-n"], "loss-n"),
    lossMs: num(values["loss-seconds"], "loss-seconds") * 1000,
    timings: {
      idleWindowMs: num(values["idle-seconds"], "idle-seconds") * 1000,
      settleMs: values["settle-seconds"] === undefined ? undefined : num(values["settle-seconds"], "settle-seconds") * 1000,
      detectTimeoutMs: num(values["detect-timeout"], "detect-timeout") * 1000,
      trace: values.trace === true,
    },
    launch: {
      args: words(values["dsef-args"]),
      bunArgs: words(values["bun-args"]),
      env: Object.fromEntries(words(values["node-env"]).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
    } as LaunchOptions,
    bundle: values.bundle === true,
    compiled: values.compiled === true,
    binary: values.binary,
    json: values.json,
  };
}

/** Outside the namespace: make one, run this script inside it, and always delete it again. */
async function runInNamespace(): Promise<never> {
  for (const ns of removeStaleNamespaces()) console.error(`removed stale namespace ${ns}`);
  const ns = namespaceName();
  try {
    createNamespace(ns);
  } catch (e) {
    console.error(`bench: cannot create network namespace ${ns} (needs root and iproute2): ${(e as Error).message}`);
    process.exit(1);
  }
  const child = Bun.spawn(["ip", "netns", "exec", ns, process.execPath, ...process.argv.slice(1)], {
    stdio: ["inherit", "inherit", "inherit"],
    env: { ...process.env, [NETNS_ENV]: ns },
  });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.on("SIGINT", forward("SIGINT"));
  process.on("SIGTERM", forward("SIGTERM"));
  const code = await child.exited;
  deleteNamespace(ns);
  process.exit(code);
}

async function main(): Promise<void> {
  const o = options();
  if (!process.env[NETNS_ENV]) await runInNamespace();

  const drivers: Driver[] = o.serf ? [dsef, serf] : [dsef];
  const onSignal = () => {
    // The clusters' finally blocks may not get to run: kill their processes now.
    for (const c of activeClusters) c.killAll();
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  installUdpCounter();
  if (o.bundle) o.launch.entry = buildBundle();
  let builtBinary: string | undefined;
  if (o.compiled) builtBinary = buildBinary(join(mkdtempSync(join(tmpdir(), "dsef-bench-bin-")), "dsef")).outfile;
  const binary = o.binary ? resolve(o.binary) : builtBinary;
  if (binary) o.launch.command = [binary, "node"];
  console.log(`D-SEF membership benchmark: sizes ${o.sizes.join(", ")}; ${o.runs} run(s); systems: ${drivers.map((d) => d.name).join(", ")}`);
  console.log(`namespace ${process.env[NETNS_ENV]}; ${navigatorInfo()}`);
  const l = o.launch;
  if (l.args.length || l.bunArgs.length || Object.keys(l.env).length || l.entry || l.command) {
    console.log(
      `D-SEF nodes: ${[...(l.command ?? ["bun", ...l.bunArgs, l.entry ?? "src/main.ts"]), ...l.args].join(" ")}${
        Object.keys(l.env).length
          ? ` with ${Object.entries(l.env)
              .map(([k, v]) => `${k}=${v}`)
              .join(" ")}`
          : ""
      }`,
    );
  }
  if (!o.serf) console.log("serf not measured (install with `apt-get install -y serf`, or drop --no-serf)");

  const results: Results = new Map();
  const failures: string[] = [];
  for (const n of o.sizes) {
    results.set(n, {});
    for (let run = 1; run <= o.runs; run++) {
      // Alternate which system goes first so slow drift on the shared machine hits both alike.
      const order = run % 2 ? drivers : [...drivers].reverse();
      for (const d of order) {
        process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] N=${n} run ${run}/${o.runs}: ${d.name}...`);
        let s: MembershipSample;
        try {
          s = await membershipRun(d, n, PORTS[d.name], o.timings, o.launch);
        } catch (e) {
          // One broken run (a port taken, a machine hiccup) should not cost the others.
          failures.push(`N=${n} run ${run} ${d.name}: ${(e as Error).message}`);
          process.stderr.write(` FAILED: ${(e as Error).message}\n`);
          continue;
        }
        (results.get(n)![d.name] ??= []).push(s);
        process.stderr.write(` crash→all dead ${Math.round(s.crashAllDeadMs)} ms, silent→all dead ${Math.round(s.silentAllDeadMs)} ms\n`);
      }
    }
  }
  printMembership(results);

  const loss: { system: SystemName; n: number; sample: LossSample }[] = [];
  for (const pct of o.loss) {
    for (const d of drivers) {
      process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] loss ${pct} % N=${o.lossN}: ${d.name}...`);
      try {
        const sample = await lossRun(d, o.lossN, pct, o.lossMs, PORTS[d.name], o.launch, o.timings.trace);
        loss.push({ system: d.name, n: o.lossN, sample });
        process.stderr.write(` ${sample.falseDeadMembers} false deaths\n`);
      } catch (e) {
        failures.push(`loss ${pct} % ${d.name}: ${(e as Error).message}`);
        process.stderr.write(` FAILED: ${(e as Error).message}\n`);
      }
    }
  }
  printLoss(loss);
  if (failures.length) console.log(`\n${failures.length} run(s) failed and are not in the figures:\n  ${failures.join("\n  ")}`);

  if (o.launch.entry) rmSync(dirname(o.launch.entry), { recursive: true, force: true });
  if (builtBinary) rmSync(dirname(builtBinary), { recursive: true, force: true });
  if (o.json) {
    writeFileSync(o.json, JSON.stringify({ sizes: Object.fromEntries(results), loss }, null, 2));
    console.log(`\nraw samples written to ${o.json}`);
  }
}

const words = (v: string) => v.split(/\s+/).filter(Boolean);

/** Bundle src/main.ts into one minified file (fewer modules to load: less memory, faster start). */
function buildBundle(): string {
  const out = join(mkdtempSync(join(tmpdir(), "dsef-bench-bundle-")), "dsef.js");
  const r = sh([process.execPath, "build", join(import.meta.dir, "..", "src/main.ts"), "--target=bun", "--minify", "--outfile", out]);
  if (!r.ok) throw new Error(`bun build failed: ${r.out}`);
  return out;
}

function navigatorInfo(): string {
  const load = sh(["cat", "/proc/loadavg"]).out.split(" ").slice(0, 3).join(" ");
  return `bun ${Bun.version}; ${navigator.hardwareConcurrency} cores; load average ${load}`;
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
