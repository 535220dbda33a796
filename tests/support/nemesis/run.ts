#!/usr/bin/env bun
/**
 * Run the nemesis soak and print its timeline, verdicts and figures.
 *
 *   bun tests/support/nemesis/run.ts [--profile short|long] [--seed N] [--json FILE] [--log-dir DIR]
 *
 * The seed comes from --seed, else DSEF_SOAK_SEED, else is drawn and printed: the same seed
 * replays the same faults against the same nodes. As root with iproute2, iptables and nsenter,
 * the run re-executes itself in a network namespace of its own (so its loss and partition rules
 * touch nothing else); otherwise it runs on the host's loopback without those two faults.
 * Exit code 0 when every invariant held, 1 when one did not, 2 for a usage error.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createNamespace, deleteNamespace, namespaceName, removeStaleNamespaces } from "../../../bench/lib/netns.ts";
import { runSoak, type SoakResult } from "./engine.ts";
import { NetFaults, SOAK_NETNS_ENV } from "./net-faults.ts";
import { killAllNodes } from "./nodes.ts";
import { PROFILES } from "./schedule.ts";

function usage(msg: string): never {
  console.error(`nemesis: ${msg}\nusage: bun tests/support/nemesis/run.ts [--profile short|long] [--seed N] [--json FILE] [--log-dir DIR]`);
  process.exit(2);
}

const OPTIONS = { profile: { type: "string" }, seed: { type: "string" }, json: { type: "string" }, "log-dir": { type: "string" } } as const;

function parsed(): ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>["values"] {
  try {
    return parseArgs({ options: OPTIONS, strict: true }).values;
  } catch (e) {
    usage((e as Error).message.split("\n")[0]!);
  }
}

function options() {
  const v = parsed();
  const name = v.profile ?? "short";
  if (name !== "short" && name !== "long") usage(`--profile: short or long, got "${name}"`);
  const rawSeed = v.seed ?? process.env.DSEF_SOAK_SEED;
  const seed = rawSeed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(rawSeed);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) usage(`seed: a whole number in 0..2^32-1, got "${rawSeed}"`);
  return { profile: PROFILES[name], seed, json: v.json, logDir: v["log-dir"] };
}

/** Can this process make a network namespace and filter packets in it? */
function canUseNamespace(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  for (const tool of ["ip", "iptables", "nsenter"]) if (!Bun.which(tool)) return `${tool} not found (apt-get install iproute2 iptables util-linux)`;
  return undefined;
}

/** Outside the namespace: make one, run this script in it (network only: /sys stays, for cgroups), delete it. */
async function runInNamespace(seed: number): Promise<number> {
  for (const ns of removeStaleNamespaces()) console.error(`nemesis: removed stale namespace ${ns}`);
  const ns = namespaceName();
  createNamespace(ns);
  // The seed is fixed here so that a re-run prints the same one even when it was drawn.
  const child = Bun.spawn(["nsenter", `--net=/run/netns/${ns}`, process.execPath, ...process.argv.slice(1)], {
    stdio: ["inherit", "inherit", "inherit"],
    env: { ...process.env, [SOAK_NETNS_ENV]: ns, DSEF_SOAK_SEED: String(seed) },
  });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.on("SIGINT", forward("SIGINT"));
  process.on("SIGTERM", forward("SIGTERM"));
  const code = await child.exited;
  deleteNamespace(ns);
  return code;
}

function printResult(r: SoakResult): void {
  console.log(`\nverdicts (seed ${r.seed}, profile ${r.profile}, ${r.durationS} s, ${r.nodes} nodes):`);
  for (const v of r.verdicts) console.log(`  ${v.pass ? "PASS" : "FAIL"}  ${v.invariant.padEnd(16)} ${v.violations} violation(s); ${v.detail}`);
  console.log("figures:");
  console.log(
    JSON.stringify(r.figures, null, 2)
      .split("\n")
      .map((l) => `  ${l}`)
      .join("\n"),
  );
  console.log(`${r.pass ? "PASS" : "FAIL"}: nemesis soak, seed ${r.seed} (replay: DSEF_SOAK_SEED=${r.seed}); node logs in ${r.logDir}`);
}

async function main(): Promise<number> {
  const o = options();
  if (!process.env[SOAK_NETNS_ENV]) {
    const why = canUseNamespace();
    if (!why) return runInNamespace(o.seed);
    console.log(`nemesis: no network namespace (${why}): UDP loss and partitions will be skipped`);
  }
  const onSignal = () => {
    killAllNodes();
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const result = await runSoak({ profile: o.profile, seed: o.seed, net: new NetFaults(), print: (l) => console.log(l), logDir: o.logDir });
  printResult(result);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
  return result.pass ? 0 : 1;
}

process.exit(await main());
