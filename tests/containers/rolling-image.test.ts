/**
 * A rolling image update, as the StatefulSet's RollingUpdate does it (one pod at a time, each
 * back and ready before the next; k8s/pdb.yaml allows one down): three edge containers under
 * ESP device load are replaced in turn by containers of a new image tag that speaks the next
 * protocol version (DSEF_PROTOCOL_TEST_NEXT=1), each with its own data volume (its identity)
 * and address. No member is declared dead, no device packet is lost, and the cluster ends on
 * the new version.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetwork, docker, engine, httpInside, peersOf, removeQuietly, run, subnetHost, testImage, waitUntil } from "./docker.ts";

const ALIAS = "dsef-edges";
const KEY = "rolling-image-cluster-key-0123456789abcdef";
const EDGES = 3;

describe.skipIf(!engine)("rolling image update", () => {
  const tag = `dsef:test-next-${process.pid}`;
  const run_ = `rolling${process.pid}`;
  let network = "";
  const containers = new Set<string>();
  const volumes = Array.from({ length: EDGES }, (_, i) => `${run_}-edge${i}`);

  afterAll(async () => {
    await removeQuietly([...containers], network ? [network] : []);
    await run(["docker", "volume", "rm", ...volumes]);
    await run(["docker", "rmi", tag]);
  }, 60_000);

  /** `docker run` one edge: its volume (identity), its address, the image and protocol given. */
  const edge = async (image: string, i: number, ip: string, next: boolean) => {
    const name = `${run_}-edge${i}`;
    const id = await docker(
      "run",
      "-d",
      "--name",
      name,
      "--label",
      "dsef.test=1",
      "--network",
      network,
      "--ip",
      ip,
      "--network-alias",
      ALIAS,
      "-v",
      `${volumes[i]}:/data`,
      "-e",
      `DSEF_CLUSTER_KEY=${KEY}`,
      ...(next ? ["-e", "DSEF_PROTOCOL_TEST_NEXT=1"] : []),
      image,
      "--name",
      `edge${i}`,
      "--promised_capacity",
      "1000",
      "--bootstrap",
      `${ALIAS}:5000`,
    );
    containers.add(id);
    return { name, id };
  };

  it("three edges replaced one at a time by a new image under device load: 0 false deaths, 0 packets lost", async () => {
    const image = await testImage();
    await docker("tag", image, tag);
    network = await createNetwork("dsef-roll");
    const ips = await Promise.all(Array.from({ length: EDGES }, (_, i) => subnetHost(network, 20 + i)));
    const edges = await Promise.all(ips.map((ip, i) => edge(image, i, ip, false)));
    const allAlive = async () => (await Promise.all(edges.map((e) => peersOf(e.id)))).every((v) => v.filter((p) => p.state === "alive").length === EDGES);
    await waitUntil("3 edges alive everywhere", allAlive, 60_000);

    const esp = await docker(
      "run",
      "-d",
      "--label",
      "dsef.test=1",
      "--network",
      network,
      "--no-healthcheck",
      "--entrypoint",
      "/usr/local/bin/dsef",
      image,
      "esp",
      "--bootstrap",
      `http://${ALIAS}:5000`,
      "--devices",
      "20",
      "--interval",
      "0.5",
      "--min-load",
      "10",
      "--max-load",
      "60",
      "--duration",
      "60",
      "--drain-s",
      "20",
      "--report-json",
      "/tmp/report.json",
    );
    containers.add(esp);
    await Bun.sleep(5_000);

    const logs: string[] = [];
    for (let i = 0; i < EDGES; i++) {
      const old = edges[i]!;
      // As the kubelet does: SIGTERM, the grace period, then the new pod with the same volume.
      await docker("stop", "-t", "15", old.id);
      logs.push((await run(["docker", "logs", old.id])).out);
      await docker("rm", old.id);
      containers.delete(old.id);
      edges[i] = await edge(tag, i, ips[i]!, true);
      await waitUntil(
        `edge${i} (new image) ready and alive everywhere`,
        async () => (await httpInside<{ ready: boolean }>(edges[i]!.id, "/ready")).ready && (await allAlive()),
        60_000,
        1000,
      );
      await Bun.sleep(5_000); // minReadySeconds in k8s/statefulset.yaml
    }

    const code = await run(["docker", "wait", esp], { timeoutMs: 120_000 });
    const dir = mkdtempSync(join(tmpdir(), "dsef-roll-"));
    await docker("cp", `${esp}:/tmp/report.json`, join(dir, "report.json"));
    const r = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as { sent: number; acknowledged: number; lost: number };
    console.log(`  devices during the rolling update: sent ${r.sent}, acknowledged ${r.acknowledged}, lost ${r.lost}`);
    expect(r.lost).toBe(0);
    expect(code.out.trim()).toBe("0");
    expect(r.sent).toBeGreaterThan(1000);
    for (const e of edges) logs.push((await run(["docker", "logs", e.id])).out);
    expect(logs.flatMap((l) => l.split("\n")).filter((l) => l.includes('"event":"dead"'))).toEqual([]);
    // Every node is on the new image now: the cluster writes the next version.
    await waitUntil(
      "the cluster writes version 3",
      async () =>
        (await Promise.all(edges.map((e) => httpInside<{ transport: { protocol: { writes: number } } }>(e.id, "/status")))).every(
          (s) => s.transport.protocol.writes === 3,
        ),
      15_000,
    );
  }, 300_000);
});
