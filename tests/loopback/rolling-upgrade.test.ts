/**
 * Rolling upgrades on real nodes. The node built as its own next protocol version
 * (DSEF_PROTOCOL_TEST_NEXT=1: speaks 1..3; in version 3 its datagrams carry an envelope field
 * version 2 does not know, and every datagram an update kind version 2 does not know) must
 * interoperate with today's nodes (1..2) both ways; the cluster writes version 2 while any of
 * today's nodes is alive, and 3 once none is. (Version 1, msgpack, against version 2, JSON:
 * tests/sim/protocol-versions.sim.test.ts.) Then the upgrade users do: five nodes replaced one at a
 * time (graceful stop, same identity and address, the new build) under device load: no member
 * is ever declared dead, no device packet is lost.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyFromSecret } from "../../src/identity/keyring.ts";
import { allocPorts, allSee, BUN, type NodeProcess, ROOT, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const KEY = "rolling-upgrade-cluster-key-0123456789";
const NEXT = { DSEF_PROTOCOL_TEST_NEXT: "1" };
const all: NodeProcess[] = [];
afterAll(() => stopAll(all));

const start = async (port: number, next: boolean, bootstrap?: string, dataDir?: string) => {
  const n = await spawnNode({ port, bootstrap, dataDir, env: next ? NEXT : {}, args: ["--cluster-key", KEY, "--log-level", "info"] });
  all.push(n);
  return n;
};
const transport = async (n: NodeProcess) =>
  (await n.status()).transport as { updatesUnknown: number; protocol: { speaks: { max: number }; writes: number }; drops: { version: number; schema: number } };
const deaths = (nodes: NodeProcess[]) => nodes.flatMap((n) => n.output.filter((l) => l.includes('"event":"dead"')));

describe("protocol versions", () => {
  test("today's and next-version nodes interoperate both ways; the cluster writes the highest version all read", async () => {
    const ports = allocPorts(5);
    const old1 = await start(ports[0]!, false);
    const next1 = await start(ports[1]!, true, `127.0.0.1:${old1.port}`); // a newer node joins through an old one
    const old2 = await start(ports[2]!, false, `127.0.0.1:${next1.port}`); // an old node joins through a newer one
    const next2 = await start(ports[3]!, true, `127.0.0.1:${old2.port}`);
    const nodes = [old1, next1, old2, next2];
    await waitUntil(() => allSee(nodes, nodes, "alive"), 20_000);
    // Every node reads the others' ranges from their signed alive claims.
    expect((await old1.peers()).find((p) => p.port === next1.port)?.protocol).toEqual({ min: 1, max: 3 });
    await Bun.sleep(2000);
    for (const n of nodes) expect((await transport(n)).protocol.writes).toBe(2);
    // The old nodes skipped the newer nodes' update kind, and dropped nothing for it.
    for (const n of [old1, old2]) {
      const t = await transport(n);
      expect(t.updatesUnknown).toBeGreaterThan(0);
      expect(t.drops.version + t.drops.schema).toBe(0);
    }
    // The old nodes leave: the newer ones move to version 3 and keep each other alive.
    old1.kill("SIGTERM");
    old2.kill("SIGTERM");
    await Promise.all([old1.exited, old2.exited]);
    await waitUntil(async () => (await transport(next1)).protocol.writes === 3 && (await transport(next2)).protocol.writes === 3, 10_000);
    await Bun.sleep(3000);
    expect(await allSee([next1, next2], [next1, next2], "alive")).toBe(true);
    for (const n of [next1, next2]) expect((await transport(n)).drops.version).toBe(0);
    expect(deaths(nodes)).toEqual([]);
    // A build too far ahead (versions 4..5 only) is told why at its join, not left to time out.
    const b64 = () => randomBytes(32).toString("base64");
    const hello = { v: 1, protocol: { min: 4, max: 5 }, key: b64(), nonce: b64(), eph: b64(), kid: keyFromSecret(KEY).kid };
    const refused = await fetch(`${next1.url}/join/hello`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(hello) });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toContain("protocol versions 4..5 and this node's 1..3 have none in common");
    await stopAll([next1, next2]);
  }, 90_000);

  test("five nodes replaced one at a time by the next version under device load: 0 false deaths, 0 packets lost", async () => {
    const ports = allocPorts(5);
    const nodes: NodeProcess[] = [];
    for (const [i, port] of ports.entries()) nodes.push(await start(port, false, i === 0 ? undefined : `127.0.0.1:${ports[0]}`));
    await waitUntil(() => allSee(nodes, nodes, "alive"), 20_000);
    const report = join(tmpdir(), `dsef-rolling-${process.pid}.json`);
    const esp = Bun.spawn(
      [
        BUN,
        join(ROOT, "esp/simulator.ts"),
        "--bootstrap",
        nodes.map((n) => n.url).join(","),
        "--devices",
        "20",
        "--interval",
        "0.2",
        "--duration",
        "40",
        "--min-load",
        "10",
        "--max-load",
        "60",
        "--drain-s",
        "20",
        "--report-json",
        report,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const espOut = new Response(esp.stdout).text();
    const history = [...nodes];
    await Bun.sleep(3000);
    for (let i = 0; i < nodes.length; i++) {
      const old = nodes[i]!;
      old.kill("SIGTERM"); // graceful: it leaves, and its backups run what it held
      await old.exited;
      const peer = nodes[(i + 1) % nodes.length]!;
      const fresh = await start(old.port, true, `127.0.0.1:${peer.port}`, old.dataDir);
      nodes[i] = fresh;
      history.push(fresh);
      await waitUntil(() => allSee(nodes, nodes, "alive"), 20_000);
      await Bun.sleep(2000);
    }
    const code = await esp.exited;
    const r = JSON.parse(readFileSync(report, "utf8"));
    console.log(`  devices during the rolling upgrade: sent ${r.sent}, acknowledged ${r.acknowledged}, lost ${r.lost}, retries ${r.retries}`);
    if (code !== 0) console.log((await espOut).slice(-2000));
    expect(r.lost).toBe(0);
    expect(code).toBe(0);
    expect(r.sent).toBeGreaterThan(1000);
    expect(deaths(history)).toEqual([]);
    // All new now: the cluster talks version 3.
    await waitUntil(async () => (await Promise.all(nodes.map(transport))).every((t) => t.protocol.writes === 3), 10_000);
  }, 180_000);
});
