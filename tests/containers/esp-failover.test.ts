/**
 * ESP simulators in containers keep every packet acknowledged while an edge container is
 * killed: the devices fail over to the surviving nodes (lost = 0 in their reports).
 */
import { afterAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type StartedTestContainer, Wait } from "testcontainers";
import { createNetwork, docker, engine, NetworkedContainer, peersOf, ROOT, removeQuietly, run, startEdge, subnetHost, testImage, waitUntil } from "./docker.ts";

const hasSimulator = existsSync(join(ROOT, "esp/simulator.ts"));
const ALIAS = "dsef-edges";
const DURATION_S = 30;

interface Report {
  sent: number;
  acknowledged: number;
  lost: number;
  [k: string]: unknown;
}

describe.skipIf(!engine || !hasSimulator)("ESP simulators in containers", () => {
  let network = "";
  const edges: StartedTestContainer[] = [];
  const esps: string[] = [];

  afterAll(async () => {
    await removeQuietly([...edges.map((e) => e.getId()), ...esps], network ? [network] : []);
  });

  it("lost = 0 while an edge container is killed", async () => {
    const image = await testImage();
    network = await createNetwork("dsef-esp");
    const caps = [1000, 800, 500];
    const ips = await Promise.all(caps.map((_, i) => subnetHost(network, 10 + i)));
    edges.push(
      ...(await Promise.all(
        caps.map((capacity, i) => startEdge(image, { network, ip: ips[i], aliases: [ALIAS], name: `edge${i}`, capacity, bootstrap: `${ALIAS}:5000` })),
      )),
    );
    await waitUntil(
      "3 edges alive everywhere",
      async () => (await Promise.all(edges.map((e) => peersOf(e.getId())))).every((v) => v.filter((p) => p.state === "alive").length === 3),
      30_000,
    );

    // Two simulator containers, 10 devices each, 1 packet/s per device of 10-100 units:
    // ~1100 units/s, about half of the 2300 the three edges promise, and still within the 1500
    // left after the kill, so every packet can be served (not answered 503 for overload).
    for (let i = 0; i < 2; i++) {
      const c = await new NetworkedContainer(image)
        .onNetwork(network, {})
        .withCommand([
          "esp",
          "--bootstrap",
          `http://${ALIAS}:5000`,
          "--interval",
          "1",
          "--min-load",
          "10",
          "--max-load",
          "100",
          "--devices",
          "10",
          "--duration",
          String(DURATION_S),
          "--report-json",
          "/tmp/report.json",
        ])
        .withLabels({ "dsef.test": "1" })
        // The image's HEALTHCHECK is the edge node's /health; a simulator serves no HTTP.
        // (testcontainers' exec-based waits hang under Bun: wait on its first line instead.)
        .withHealthCheck({ test: ["NONE"] as unknown as ["CMD"] }) // Docker's "no healthcheck"
        .withWaitStrategy(Wait.forLogMessage(/esp-simulator/))
        .start();
      esps.push(c.getId());
    }

    await Bun.sleep(10_000);
    await docker("kill", edges[1]!.getId()); // a node that is not the only one devices know
    console.log("  killed edge1 10 s into the run");

    // Wait for the simulators to finish their run and write their reports.
    for (const id of esps) {
      const r = await run(["docker", "wait", id], { timeoutMs: (DURATION_S + 60) * 1000 });
      const logs = await run(["docker", "logs", "--tail", "15", id]);
      expect(r.out.trim(), `simulator ${id} exit code; logs:\n${logs.out}${logs.err}`).toBe("0");
    }
    const dir = mkdtempSync(join(tmpdir(), "dsef-esp-"));
    const reports: Report[] = [];
    for (const [i, id] of esps.entries()) {
      await docker("cp", `${id}:/tmp/report.json`, join(dir, `r${i}.json`));
      reports.push(JSON.parse(readFileSync(join(dir, `r${i}.json`), "utf8")) as Report);
    }
    const total = reports.reduce((a, r) => ({ sent: a.sent + r.sent, acknowledged: a.acknowledged + r.acknowledged, lost: a.lost + r.lost }), {
      sent: 0,
      acknowledged: 0,
      lost: 0,
    });
    console.log(`  simulators: sent ${total.sent}, acknowledged ${total.acknowledged}, lost ${total.lost}`);
    expect(total.sent).toBeGreaterThan(400);
    expect(total.lost).toBe(0);
    expect(total.acknowledged).toBe(total.sent);
    // The killed node was serving devices before it died, so the run did exercise failover.
    const servedByVictim = reports.reduce((n, r) => n + Number((r.handled_by as Record<string, number> | undefined)?.[`${ips[1]}:5000`] ?? 0), 0);
    const failovers = reports.reduce((n, r) => n + Number(r.failovers ?? 0), 0);
    console.log(`  packets served by the killed node before it died: ${servedByVictim}; failovers: ${failovers}`);
    expect(servedByVictim).toBeGreaterThan(0);
  }, 180_000);
});
