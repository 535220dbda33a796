/**
 * Accepted means kept, on real processes: 3 nodes run a test handler that logs every
 * invocation (packet id, node, taken over or not) to one file. One node is given 2 s of queued
 * work, devices keep sending to all of them, and it is killed with SIGKILL. Every packet any
 * node acknowledged is run; packets run twice are only those the dead node had started (or
 * just finished) and its backup ran again, flagged as taken over.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, type NodeProcess, ROOT, startCluster, stopAll, waitUntil } from "../support/processes.ts";

let nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

const WORKERS = 2;
/** The test handler sleeps processing_load ms: 2 Workers do 2000 units/s. */
const CAPACITY = 2000;

test("kill -9 of a node with 2 s of accepted work while devices send: every acknowledged packet runs, twice only if it had started", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dsef-kill-"));
  const runs = join(dir, "runs.log");
  nodes = await startCluster(3, {
    capacities: [CAPACITY, CAPACITY, CAPACITY],
    // No forwarding: the victim keeps the backlog it is given.
    args: ["--handler", join(ROOT, "tests/fixtures/handler.ts"), "--workers", String(WORKERS), "--forward-above", "30s", "--max-backlog", "30s"],
    env: { DSEF_TEST_LOG: runs },
  });
  const victim = nodes[1]!;
  const report = join(dir, "report.json");
  // 20 devices x 10 packets/s x ~10 units: 2000 units/s, a third of the cluster.
  const sim = Bun.spawn(
    [BUN, join(ROOT, "esp/simulator.ts"), "--bootstrap", nodes.map((n) => n.url).join(","), "--devices", "20", "--interval", "0.1"].concat([
      "--duration",
      "12",
      "--min-load",
      "5",
      "--max-load",
      "15",
      "--seed",
      "3",
      "--report-json",
      report,
    ]),
    { stdout: "pipe", stderr: "pipe" },
  );
  const simOut = new Response(sim.stdout).text();
  await Bun.sleep(3000);

  // 2 s of work straight at the victim: 200 packets of 20 units. A 503 means "not taken,
  // retry" (say a hand-off timed out on this busy machine): the client retries like a device.
  const direct = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      for (let attempt = 0; ; attempt++) {
        const res = await fetch(`${victim.url}/handle_request`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ processing_load: 20, packet_id: `direct-${i}`, device_id: `direct-${i % 10}` }),
        });
        const body = (await res.json()) as Record<string, unknown>;
        if (res.status !== 503 || attempt >= 10) return { id: `direct-${i}`, status: res.status, body };
        await Bun.sleep(Number(body.retry_after_ms ?? 200));
      }
    }),
  );
  const acked = direct.filter((d) => d.status === 200).map((d) => d.id);
  expect(acked.length).toBe(200);
  const before = (await victim.status()).load;
  console.log(`victim before the kill: ${before.queued} queued, ${before.running} running, load ${before.load_ratio} s`);
  expect(before.load_ratio).toBeGreaterThan(1.5);
  victim.kill("SIGKILL");

  expect(await sim.exited).toBe(0);
  console.log((await simOut).split("\n").slice(-9).join("\n"));
  const r = JSON.parse(readFileSync(report, "utf8"));
  expect(r.lost).toBe(0);

  const survivors = nodes.filter((n) => n !== victim);
  await waitUntil(async () => (await Promise.all(survivors.map((n) => n.status()))).every((s) => s.load.queued === 0 && s.load.running === 0), 30_000);
  const stats = (await Promise.all(survivors.map((n) => n.status()))).map((s) => s.load);
  console.log("survivors:", JSON.stringify(stats.map((s) => ({ taken_over: s.taken_over, done: s.done, failed: s.failed, not_kept: s.not_kept }))));

  expect(existsSync(runs)).toBe(true);
  const lines = readFileSync(runs, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" "));
  const count = new Map<string, { n: number; takeover: number; by: Set<string> }>();
  for (const [id, node, takeover] of lines) {
    const c = count.get(id!) ?? { n: 0, takeover: 0, by: new Set() };
    c.n++;
    if (takeover === "true") c.takeover++;
    c.by.add(node!);
    count.set(id!, c);
  }
  // Every acknowledged packet ran: the direct ones by id, the devices' by count.
  for (const id of acked) expect(count.has(id)).toBe(true);
  const deviceIds = [...count.keys()].filter((id) => !id.startsWith("direct-"));
  expect(deviceIds.length).toBeGreaterThanOrEqual(r.acknowledged);
  // Twice: only packets the victim ran and its backup ran again after it died.
  const twice = [...count].filter(([, c]) => c.n > 1);
  console.log(
    `runs: ${lines.length} for ${count.size} packets; twice: ${twice.length} (${twice.map(([id]) => id).join(" ")}); taken over: ${stats.reduce((a, s) => a + s.taken_over, 0)}`,
  );
  for (const [id, c] of twice) {
    console.log(`${id}: ${c.n} runs, ${c.takeover} taken over, by ${[...c.by].join(" ")}`);
    expect(c.n).toBe(2);
    expect(c.takeover).toBe(1);
    expect(c.by.has(`127.0.0.1:${victim.port}`)).toBe(true);
  }
  // The victim ran at most WORKERS packets at the moment of the kill, plus those whose "done" was still on its way.
  expect(twice.length).toBeLessThanOrEqual(WORKERS + 10);
  expect(stats.reduce((a, s) => a + s.taken_over, 0)).toBeGreaterThan(100);
}, 90_000);
