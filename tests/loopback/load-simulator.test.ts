/** The ESP simulator as a process: SIGTERM drains and reports; bad flags exit 2 with one line. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocPorts, BUN, type NodeProcess, ROOT, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

let node: NodeProcess;
beforeAll(async () => {
  node = await spawnNode({ port: allocPorts(1)[0]!, capacity: 100_000 });
});
afterAll(() => stopAll([node]));

const SIM = join(ROOT, "esp/simulator.ts");

test("SIGTERM: stops sending, waits for in-flight packets, prints and writes the summary", async () => {
  const report = join(mkdtempSync(join(tmpdir(), "dsef-sim-")), "r.json");
  // The seed's command line plus a few devices.
  const sim = Bun.spawn([BUN, SIM, "--bootstrap", node.url, "--interval", "0.1", "--devices", "5", "--report-json", report], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = new Response(sim.stdout).text();
  await waitUntil(async () => (await node.status()).load.accepted >= 20, 10_000);
  sim.kill("SIGTERM");
  expect(await sim.exited).toBe(0);
  const text = await out;
  expect(text).toContain("stopping (SIGTERM)");
  expect(text).toMatch(/sent \d+, acknowledged \d+, lost 0/);
  expect(existsSync(report)).toBe(true);
  const r = JSON.parse(readFileSync(report, "utf8"));
  expect(r.lost).toBe(0);
  expect(r.sent).toBe(r.acknowledged);
  expect(r.sent).toBeGreaterThanOrEqual(20);
  expect(Object.keys(r.latency_ms)).toEqual(["p50", "p95", "p99", "max"]);
  expect((await node.status()).load.accepted).toBe(r.sent);
});

for (const argv of [
  ["--interval", "5"],
  ["--bootstrap", "http://127.0.0.1:5000", "--devices", "lots"],
  ["--bootstrap", "x", "--nope"],
]) {
  test(`bad flags (${argv.join(" ")}): one line on stderr, exit 2`, async () => {
    const p = Bun.spawn([BUN, SIM, ...argv], { stdout: "pipe", stderr: "pipe" });
    expect(await p.exited).toBe(2);
    const err = (await new Response(p.stderr).text()).trim();
    expect(err.split("\n")).toHaveLength(1);
    expect(err).toStartWith("esp-simulator: ");
  });
}
