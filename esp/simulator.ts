#!/usr/bin/env bun
/**
 * ESP device simulator. Seed-compatible:
 *   bun esp/simulator.ts --bootstrap http://127.0.0.1:5000 --interval 5
 * Many devices in one process: --devices 1000 --interval 1 --duration 60 --report-json out.json
 * `dsef esp ...` runs the same `runSimulator`.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { deviceKeyFor } from "../src/identity/device-auth.ts";
import { seededRandom } from "../src/util/random.ts";
import { UsageError } from "../src/util/usage-error.ts";
import { parseSimArgs, type SimConfig, usage } from "./args.ts";
import { Device } from "./device.ts";
import { Directory } from "./directory.ts";
import { formatSummary, newTally, summary } from "./report.ts";
import type { DeviceTls } from "./send.ts";

/**
 * Run the simulated devices until --duration or SIGTERM/SIGINT, then drain and print the
 * summary. Resolves with the exit code: 0 when nothing was lost (or --help), 1 when packets
 * were lost, 2 for a bad flag.
 */
export async function runSimulator(argv: readonly string[]): Promise<number> {
  let c: SimConfig;
  try {
    const parsed = parseSimArgs([...argv], process.env);
    if (parsed === "help") {
      console.log(usage);
      return 0;
    }
    c = parsed;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`esp-simulator: ${e.message}`);
    return 2;
  }

  const random = seededRandom(c.seed);
  const tls: DeviceTls | undefined = c.tlsCa ? { ca: c.tlsCa, ...(c.tlsAnyName ? { checkServerIdentity: () => undefined } : {}) } : undefined;
  const apiToken = process.env.DSEF_API_TOKEN;
  const directory = new Directory(c.bootstrap, Math.min(c.timeoutMs, 2000), {
    tls,
    headers: apiToken ? { authorization: `Bearer ${apiToken}` } : undefined,
    prefer: c.preferTags,
  });
  const tally = newTally();
  const stop = { stopping: false, giveUpAt: Number.POSITIVE_INFINITY };
  const verbose = c.verbose || c.devices <= 3;
  const env = {
    directory,
    tally,
    timeoutMs: c.timeoutMs,
    minLoad: c.minLoad,
    maxLoad: c.maxLoad,
    bufferSize: c.buffer,
    window: c.window,
    stop,
    log: verbose ? (l: string) => console.log(l) : undefined,
    // A real device holds only its own key; the simulator derives each from the master, like the nodes.
    keyOf: c.deviceKeys ? (id: string) => c.deviceKeys!.get(id)! : c.deviceMaster ? (id: string) => deviceKeyFor(c.deviceMaster!, id) : undefined,
    tls,
  };
  const run = randomBytes(4).toString("hex");
  // With a per-device key file, the devices are the ones it names (up to --devices).
  const ids = c.deviceKeys ? [...c.deviceKeys.keys()].slice(0, c.devices) : Array.from({ length: c.devices }, (_, i) => `esp-${c.seed}-${i}`);
  const devices = ids.map((id, i) => new Device(id, run, env, seededRandom((c.seed + i * 0x9e3779b1) >>> 0)));
  const startedAt = performance.now();

  if (!(await directory.refresh(random))) console.error(`esp-simulator: no node answered /peers yet (${c.bootstrap.join(", ")}); will keep trying`);
  else console.log(`esp-simulator: ${c.devices} device(s), ${directory.nodes.size} node(s): ${[...directory.nodes.keys()].join(" ")}`);

  const refresher = setInterval(() => void directory.refresh(random), c.refreshMs);
  const timers: ReturnType<typeof setTimeout>[] = [];
  const intervalMs = c.intervalS * 1000;
  for (const [i, d] of devices.entries()) {
    // Each device starts at its own phase and keeps its own (slightly jittered) period.
    const tick = () => {
      if (stop.stopping) return;
      d.produce();
      timers[i] = setTimeout(tick, intervalMs * (0.95 + random() * 0.1));
    };
    timers[i] = setTimeout(tick, random() * Math.min(intervalMs, 1000 * c.intervalS));
  }
  const progress = verbose
    ? undefined
    : setInterval(
        () =>
          console.log(
            `esp-simulator: ${Math.round((performance.now() - startedAt) / 1000)} s: sent ${tally.sent}, acknowledged ${tally.acknowledged}, retries ${tally.retries}`,
          ),
        5000,
      );

  return new Promise<number>((resolve) => {
    let finishing = false;
    async function finish(why: string): Promise<void> {
      if (finishing) return;
      finishing = true;
      stop.stopping = true;
      stop.giveUpAt = performance.now() + c.drainMs;
      for (const t of timers) clearTimeout(t);
      clearInterval(progress);
      console.log(`esp-simulator: stopping (${why}); waiting for in-flight packets`);
      await Promise.all(devices.map((d) => d.drained()));
      clearInterval(refresher);
      const end = { buffered: devices.reduce((a, d) => a + d.buffered, 0), perDevice: devices.map((d) => d.acked) };
      const s = summary(tally, end, {
        devices: c.devices,
        interval_s: c.intervalS,
        seed: c.seed,
        duration_s: Math.round((performance.now() - startedAt) / 100) / 10,
      });
      console.log(formatSummary(s));
      if (c.reportJson) writeFileSync(c.reportJson, `${JSON.stringify(s, null, 2)}\n`);
      resolve(s.lost === 0 ? 0 : 1);
    }
    process.on("SIGTERM", () => void finish("SIGTERM"));
    process.on("SIGINT", () => void finish("SIGINT"));
    if (c.durationS > 0) setTimeout(() => void finish("duration reached"), c.durationS * 1000);
  });
}

if (import.meta.main) process.exit(await runSimulator(process.argv.slice(2)));
