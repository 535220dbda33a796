/**
 * Graceful overload on real processes: 3 nodes (capacities 1000, 800, 500), 30 simulated devices
 * making 3× the cluster's capacity for 30 s, and one device that ignores pacing and floods.
 * Goodput stays at capacity, honest devices need about one request per acknowledged packet
 * (no retry storm), each gets its share (within ±20 % of the mean), the flooder gets no more
 * than a few honest shares (about one per node), and every acknowledged packet is run.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, type NodeProcess, ROOT, startCluster, stopAll, waitUntil } from "../support/processes.ts";

const CAPACITIES = [1000, 800, 500];
const TOTAL = CAPACITIES.reduce((a, b) => a + b, 0);
const DEVICES = 30;
const INTERVAL_S = 0.2;
const SECONDS = 30;
let nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

/** A device that ignores pacing and Retry-After: two loops posting every 20 ms. */
async function flood(urls: string[], until: number): Promise<{ sent: number; acked: number }> {
  const t = { sent: 0, acked: 0 };
  const loop = async (k: number) => {
    for (let i = k; performance.now() < until; i += 2) {
      t.sent++;
      try {
        const res = await fetch(`${urls[i % urls.length]}/handle_request`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ processing_load: 46, device_id: "flooder", packet_id: `flood-${i}` }),
          signal: AbortSignal.timeout(2000),
        });
        if (res.status === 200) t.acked++;
        await res.arrayBuffer();
      } catch {
        // a flooder does not care
      }
      await Bun.sleep(20);
    }
  };
  await Promise.all([loop(0), loop(1)]);
  return t;
}

test(
  "3x the capacity for 30 s: goodput at capacity, ~1 request per packet, fair shares, a flooder held back, nothing acknowledged lost",
  async () => {
    nodes = await startCluster(3, { capacities: CAPACITIES });
    const report = join(mkdtempSync(join(tmpdir(), "dsef-overload-")), "report.json");
    // Mean load 46 units x 150 packets/s = 6900 units/s = 3x the cluster.
    const mean = (3 * TOTAL * INTERVAL_S) / DEVICES;
    const sim = Bun.spawn(
      [
        BUN,
        join(ROOT, "esp/simulator.ts"),
        "--bootstrap",
        nodes.map((n) => n.url).join(","),
        "--devices",
        String(DEVICES),
        "--interval",
        String(INTERVAL_S),
      ].concat(
        ["--duration", String(SECONDS), "--min-load", String(Math.round(0.2 * mean)), "--max-load", String(Math.round(1.8 * mean)), "--seed", "11"],
        ["--drain-s", "5", "--report-json", report],
      ),
      { stdout: "pipe", stderr: "pipe" },
    );
    const simOut = new Response(sim.stdout).text();
    const flooding = flood(
      nodes.map((n) => n.url),
      performance.now() + SECONDS * 1000,
    );

    await Bun.sleep(5000);
    const snap = () => Promise.all(nodes.map((n) => n.status()));
    const a = await snap();
    const t0 = performance.now();
    await Bun.sleep((SECONDS - 7) * 1000);
    const b = await snap();
    const goodput = b.reduce((s, x, i) => s + x.load.units_processed - a[i]!.load.units_processed, 0) / ((performance.now() - t0) / 1000);

    expect(await sim.exited).toBe(0);
    const flooder = await flooding;
    console.log((await simOut).split("\n").slice(-9).join("\n"));
    const r = JSON.parse(readFileSync(report, "utf8"));
    const honest = r.per_device_acknowledged;
    console.log(
      `goodput ${goodput.toFixed(0)} of ${TOTAL} units/s; flooder sent ${flooder.sent}, acknowledged ${flooder.acked} (an honest device: ${honest.mean})`,
    );

    expect(goodput).toBeGreaterThanOrEqual(0.95 * TOTAL);
    expect(r.requests / r.acknowledged).toBeLessThanOrEqual(1.5);
    for (const n of honest.each as number[]) expect(Math.abs(n / honest.mean - 1)).toBeLessThanOrEqual(0.2);
    // About one packet per period from each node (3 here), more when a node dips under its busy level.
    expect(flooder.acked).toBeLessThanOrEqual(2 * CAPACITIES.length * honest.mean);
    expect(r.lost).toBe(0);

    // Every acknowledged packet was taken by some node, and runs to the end.
    const end = await snap();
    const accepted = end.reduce((s, x) => s + x.load.accepted, 0);
    expect(accepted).toBe(r.acknowledged - r.duplicates + flooder.acked);
    await waitUntil(async () => (await snap()).every((s) => s.load.queued === 0 && s.load.running === 0), 30_000);
    const done = await snap();
    expect(done.reduce((s, x) => s + x.load.done, 0)).toBe(accepted);
    expect(done.reduce((s, x) => s + x.load.failed, 0)).toBe(0);
  },
  (SECONDS + 90) * 1000,
);
