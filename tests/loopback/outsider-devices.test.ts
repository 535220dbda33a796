/**
 * Device authentication end to end (--device-key): signed ESP devices at the usual load lose
 * nothing; an unsigned or wrongly keyed device gets 401 with a clear reason; a replayed signed
 * packet is acknowledged as a duplicate, not processed again; another device cannot pre-claim a
 * device's packet id; a device reads its own packet's outcome from any node, and nobody else
 * reads it; `dsef device-key` prints the key the node derives.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEVICE_AUTH_HEADER, deviceKeyFor, signPacket, signStatusRead } from "../../src/identity/device-auth.ts";
import { startSecuredCluster } from "../support/identity.ts";
import { BUN, type NodeProcess, ROOT, stopAll } from "../support/processes.ts";

const KEY = "outsider-devices-cluster-key-0123456789";
const MASTER = "device-master-secret-0123456789abcdef";
const tmp = mkdtempSync(join(tmpdir(), "dsef-devices-"));
let nodes: NodeProcess[] = [];

beforeAll(async () => {
  const masterFile = join(tmp, "device.key");
  writeFileSync(masterFile, `${MASTER}\n`, { mode: 0o600 });
  nodes = await startSecuredCluster(3, (i) => ({
    args: ["--cluster-key", KEY, "--device-key-file", masterFile, "--promised_capacity", i === 0 ? "2000" : "20000", "--log-level", "debug"],
  }));
}, 30_000);
afterAll(() => stopAll(nodes));

/** A signed POST /handle_request as a device holding `key` would send it. */
function signed(n: NodeProcess, body: Record<string, unknown>, key = deviceKeyFor(MASTER, String(body.device_id))) {
  const text = JSON.stringify(body);
  return fetch(`${n.url}/handle_request`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      [DEVICE_AUTH_HEADER]: signPacket(key, String(body.packet_id), String(body.device_id), text, Date.now(), `127.0.0.1:${n.port}`),
    },
    body: text,
  });
}

describe("--device-key", () => {
  test("dsef device-key prints the key a node derives for that device", async () => {
    const p = Bun.spawnSync([BUN, join(ROOT, "src/cli/dsef.ts"), "device-key", "esp-7"], { env: { ...process.env, DSEF_DEVICE_KEY: MASTER } });
    expect(p.exitCode).toBe(0);
    expect(p.stdout.toString().trim()).toBe(deviceKeyFor(MASTER, "esp-7"));
  });

  test("an unsigned packet, a wrong key, a stale time: 401 with a clear reason", async () => {
    const [a] = nodes as [NodeProcess];
    const plain = await fetch(`${a.url}/handle_request`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"processing_load": 5, "packet_id": "u-1", "device_id": "d-1"}',
    });
    expect(plain.status).toBe(401);
    expect(((await plain.json()) as { error: string }).error).toContain("device authentication required");

    const wrong = await signed(a, { processing_load: 5, packet_id: "w-1", device_id: "d-1" }, deviceKeyFor("some-other-master-secret-0123", "d-1"));
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toContain("wrong device key");

    const body = JSON.stringify({ processing_load: 5, packet_id: "s-1", device_id: "d-1" });
    const stale = await fetch(`${a.url}/handle_request`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [DEVICE_AUTH_HEADER]: signPacket(deviceKeyFor(MASTER, "d-1"), "s-1", "d-1", body, Date.now() - 3_600_000, `127.0.0.1:${a.port}`),
      },
      body,
    });
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { error: string }).error).toContain("time");
    expect((await a.status()).load.accepted).toBe(0);
  });

  test("a replayed signed packet is acknowledged as a duplicate, not processed again; elsewhere it is refused", async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const body = JSON.stringify({ processing_load: 5, packet_id: "r-1", device_id: "d-2" });
    const headers = {
      "content-type": "application/json",
      [DEVICE_AUTH_HEADER]: signPacket(deviceKeyFor(MASTER, "d-2"), "r-1", "d-2", body, Date.now(), `127.0.0.1:${a.port}`),
    };
    const first = (await (await fetch(`${a.url}/handle_request`, { method: "POST", headers, body })).json()) as Record<string, unknown>;
    expect(first.status).toBe("accepted");
    expect(first.packet_id).toBe("r-1");
    const accepted = (await a.status()).load.accepted;
    const again = (await (await fetch(`${a.url}/handle_request`, { method: "POST", headers, body })).json()) as Record<string, unknown>;
    expect(again).toMatchObject({ status: "accepted", duplicate: true, packet_id: "r-1" });
    expect((await a.status()).load.accepted).toBe(accepted);
    // Signed for node a: node b will not take it.
    const elsewhere = await fetch(`${b.url}/handle_request`, { method: "POST", headers, body });
    expect(elsewhere.status).toBe(401);
    expect(((await elsewhere.json()) as { error: string }).error).toContain("another node");
  });

  test("packet ids are scoped to the device: another device cannot pre-claim one", async () => {
    const [a] = nodes as [NodeProcess];
    // An attacker holding its own device's key sends the id the victim will use next.
    const claim = (await (await signed(a, { processing_load: 5, packet_id: "victim-1", device_id: "attacker" })).json()) as Record<string, unknown>;
    expect(claim.status).toBe("accepted");
    const real = (await (await signed(a, { processing_load: 5, packet_id: "victim-1", device_id: "victim" })).json()) as Record<string, unknown>;
    expect(real.status).toBe("accepted");
    expect(real.duplicate).toBeUndefined();
  });

  test("GET /packets/:id: a device reads its own packet from any node; an outsider, another device or a packet's signature reads nothing", async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    expect((await signed(a, { processing_load: 5, packet_id: "read-1", device_id: "reader" })).status).toBe(200);
    const read = (n: NodeProcess, device: string, key = deviceKeyFor(MASTER, device)) =>
      fetch(`${n.url}/packets/read-1?device_id=${device}&wait=2`, {
        headers: { [DEVICE_AUTH_HEADER]: signStatusRead(key, "read-1", device, Date.now(), `127.0.0.1:${n.port}`) },
      });
    // From the node that did not take it: the lookup goes node to node (signed).
    const own = await read(b, "reader");
    expect(own.status).toBe(200);
    const body = (await own.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ packet_id: "read-1", state: "done" });
    expect(JSON.stringify(body)).not.toContain("reader");
    // No signature: 401, and the id is not even looked up.
    const outsider = await fetch(`${a.url}/packets/read-1`);
    expect(outsider.status).toBe(401);
    // Another device asking for the same id reads its own (none), not the reader's.
    expect((await read(a, "other")).status).toBe(404);
    // A device's key cannot read as another device.
    expect((await read(a, "reader", deviceKeyFor(MASTER, "other"))).status).toBe(401);
    // A signed packet's header cannot be replayed as a read: the signed text differs.
    const text = JSON.stringify({ processing_load: 5, packet_id: "read-1", device_id: "reader" });
    const asRead = await fetch(`${a.url}/packets/read-1?device_id=reader`, {
      headers: { [DEVICE_AUTH_HEADER]: signPacket(deviceKeyFor(MASTER, "reader"), "read-1", "reader", text, Date.now(), `127.0.0.1:${a.port}`) },
    });
    expect(asRead.status).toBe(401);
    // A node-to-node lookup (one hop) without node authentication is refused.
    expect((await fetch(`${a.url}/packets/${encodeURIComponent("6:reader/read-1")}`, { headers: { "x-dsef-hop": "1" } })).status).toBe(401);
  });

  test("signed ESP devices at the usual load: 0 lost, every packet taken once", async () => {
    const report = join(tmp, "esp.json");
    const sim = Bun.spawn(
      [
        BUN,
        join(ROOT, "esp/simulator.ts"),
        "--bootstrap",
        nodes.map((n) => n.url).join(","),
        "--devices",
        "50",
        "--interval",
        "0.2",
        "--duration",
        "8",
        "--min-load",
        "10",
        "--max-load",
        "100",
        "--report-json",
        report,
        "--seed",
        "5",
        "--drain-s",
        "10",
      ],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, DSEF_DEVICE_KEY: MASTER } },
    );
    const [out, code] = await Promise.all([new Response(sim.stdout).text(), sim.exited]);
    const r = JSON.parse(readFileSync(report, "utf8"));
    console.log(`signed devices: sent ${r.sent}, acknowledged ${r.acknowledged}, lost ${r.lost}, client errors ${r.client_errors}`);
    if (code !== 0) console.log(out.slice(-3000));
    expect(code).toBe(0);
    expect(r.sent).toBeGreaterThan(1000);
    expect(r.lost).toBe(0);
    const taken = new Map<string, number>();
    for (const n of nodes)
      for (const line of n.output)
        if (line.includes('"packet accepted"') && line.includes("esp-5-")) {
          const id = JSON.parse(line).packet_id as string;
          taken.set(id, (taken.get(id) ?? 0) + 1);
        }
    expect([...taken.values()].every((c) => c === 1)).toBe(true);
    expect(taken.size).toBe(r.acknowledged);
  }, 60_000);
});
