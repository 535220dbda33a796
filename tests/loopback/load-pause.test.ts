/**
 * A node frozen with SIGSTOP (not crashed): devices time out on it and retry elsewhere, while
 * their original requests wait in its socket. When it resumes it must not process those too.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acceptedPacketCounts, BUN, type NodeProcess, ROOT, startCluster, stopAll, waitUntil } from "../support/processes.ts";

let nodes: NodeProcess[] = [];
afterAll(async () => {
  for (const n of nodes) n.kill("SIGCONT");
  await stopAll(nodes);
});

test("SIGSTOP 3 s: lost 0, and requests queued at the frozen node are not processed twice", async () => {
  nodes = await startCluster(3, { capacities: [1000, 1000, 1000], args: ["--log-level", "debug"] });
  const report = join(mkdtempSync(join(tmpdir(), "dsef-pause-")), "r.json");
  const sim = Bun.spawn(
    [BUN, join(ROOT, "esp/simulator.ts"), "--bootstrap", nodes.map((n) => n.url).join(","), "--devices", "20", "--interval", "0.1"].concat([
      "--duration",
      "10",
      "--min-load",
      "1",
      "--max-load",
      "5",
      "--timeout-ms",
      "300",
      "--seed",
      "9",
      "--report-json",
      report,
    ]),
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = new Response(sim.stdout).text();
  await Bun.sleep(3000);
  nodes[1]!.kill("SIGSTOP");
  await Bun.sleep(3000);
  nodes[1]!.kill("SIGCONT");
  expect(await sim.exited).toBe(0);
  console.log((await out).split("\n").slice(-6).join("\n"));
  const r = JSON.parse(readFileSync(report, "utf8"));
  expect(r.lost).toBe(0);
  expect(r.failovers).toBeGreaterThan(0);

  await waitUntil(async () => (await nodes[1]!.status()).ready === true, 5000);
  await Bun.sleep(500);
  const taken = acceptedPacketCounts(nodes);
  expect([...taken].filter(([, c]) => c > 1)).toEqual([]);
  expect(taken.size).toBe(r.sent);
  const s1 = await nodes[1]!.status();
  console.log("frozen node after resume:", JSON.stringify(s1.load));
}, 60_000);
