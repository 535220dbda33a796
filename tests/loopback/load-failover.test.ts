/**
 * The scenario: 5 nodes (capacities 1000, 800, 500, 600, 600), 50 simulated devices
 * sending every 0.2 s for 60 s, two nodes killed with SIGKILL in the middle. Every packet is
 * acknowledged, none is processed twice, devices carry on with the survivors, and the work each
 * survivor did is proportional to its capacity within ±15 %.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acceptedPacketCounts, BUN, type NodeProcess, ROOT, startCluster, stopAll, waitUntil } from "../support/processes.ts";

const CAPACITIES = [1000, 800, 500, 600, 600];
const KILLED = [1, 2];
const DURATION_S = Number(process.env.LOAD_TEST_DURATION_S ?? 60);
let nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test(
  "50 devices, 5 nodes, 2 killed: nothing lost, nothing twice, work by capacity",
  async () => {
    nodes = await startCluster(5, { capacities: CAPACITIES, args: ["--log-level", "debug"] });
    const report = join(mkdtempSync(join(tmpdir(), "dsef-load-")), "report.json");
    // Mean load 7 units x 250 packets/s = 1750 units/s: half the cluster, 80 % of the survivors.
    const sim = Bun.spawn(
      [BUN, join(ROOT, "esp/simulator.ts"), "--bootstrap", nodes.map((n) => n.url).join(","), "--devices", "50", "--interval", "0.2"].concat([
        "--duration",
        String(DURATION_S),
        "--min-load",
        "1",
        "--max-load",
        "13",
        "--seed",
        "42",
        "--report-json",
        report,
      ]),
      { stdout: "pipe", stderr: "pipe" },
    );
    const simOut = new Response(sim.stdout).text();
    const simErr = new Response(sim.stderr).text();

    await Bun.sleep((DURATION_S / 2) * 1000 - 2500);
    for (const i of KILLED) {
      nodes[i]!.kill("SIGKILL");
      await Bun.sleep(2500);
    }
    const survivors = nodes.filter((_, i) => !KILLED.includes(i));
    const atKill = await Promise.all(survivors.map((n) => n.status()));

    const code = await sim.exited;
    const out = await simOut;
    console.log(out.split("\n").slice(-7).join("\n"), await simErr);
    const r = JSON.parse(readFileSync(report, "utf8"));
    expect(code).toBe(0);
    expect(r.sent).toBeGreaterThan(DURATION_S * 250 * 0.8);
    expect(r.lost).toBe(0);
    expect(r.acknowledged).toBe(r.sent);
    expect(r.failover_ms.p99).toBeLessThan(1000);

    // Devices resumed on the survivors: each took a fair share of packets after the kills.
    const end = await Promise.all(survivors.map((n) => n.status()));
    for (const [i, s] of end.entries()) expect(s.load.accepted - atKill[i]!.load.accepted).toBeGreaterThan(500);

    // No packet processed twice: every node logs each packet it takes.
    const taken = acceptedPacketCounts(nodes);
    const twice = [...taken].filter(([, c]) => c > 1);
    expect(twice).toEqual([]);
    expect(taken.size).toBe(r.sent);

    // Work by capacity: let the queues drain, then compare units processed per unit of capacity.
    await waitUntil(async () => (await Promise.all(survivors.map((n) => n.status()))).every((s) => s.load.backlog === 0), 20_000);
    const done = await Promise.all(survivors.map((n) => n.status()));
    const perCapacity = done.map((s) => s.load.units_processed / s.load.capacity);
    const mean = perCapacity.reduce((a, b) => a + b, 0) / perCapacity.length;
    console.log("units processed per unit of capacity:", perCapacity.map((x) => x.toFixed(2)).join(" "), "mean", mean.toFixed(2));
    console.log("survivor load counters:", JSON.stringify(done.map((s) => s.load)));
    for (const x of perCapacity) expect(Math.abs(x / mean - 1)).toBeLessThanOrEqual(0.15);
  },
  DURATION_S * 1000 + 90_000,
);
