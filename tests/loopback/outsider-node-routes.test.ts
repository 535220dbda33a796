/**
 * The routes only nodes call (/packets/ask, a forwarded /handle_request, /stats), attacked by an
 * outsider against a secured cluster: every unauthenticated call is a 401 that costs nothing
 * (no window entry, no answer about packets, no memory); a captured node request cannot be
 * replayed, nor sent to another node; forwarding between the real nodes still works; and no
 * device id shows on any route an outsider can read.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { NodeAuth } from "../../src/identity/node-auth.ts";
import { startSecuredCluster } from "../support/identity.ts";
import { outsider, peakRssDuring, rssMb } from "../support/outsider.ts";
import { type NodeProcess, stopAll } from "../support/processes.ts";

const KEY = "outsider-node-routes-cluster-key-0123456789";
let nodes: NodeProcess[] = [];
let a: NodeProcess;
let b: NodeProcess;

beforeAll(async () => {
  // A small and a large node: the small one forwards. No rate limit here: every refusal is the 401 itself.
  nodes = await startSecuredCluster(2, (i) => ({ args: ["--cluster-key", KEY, "--rate-limit", "0", "--promised_capacity", i === 0 ? "10" : "1000000"] }));
  [a, b] = nodes as [NodeProcess, NodeProcess];
}, 30_000);
afterAll(() => stopAll(nodes));

const post = (n: NodeProcess, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${n.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("node-to-node routes in a secured cluster", () => {
  test("20 000 unauthenticated /packets/ask: all 401, the window and the node's memory unchanged", async () => {
    const before = (await a.status()).load;
    const rss0 = rssMb(a.proc.pid);
    const { value: flood, peakMb } = await peakRssDuring(a.proc.pid, () =>
      outsider({
        kind: "flood",
        port: a.port,
        from: "127.0.0.2",
        path: "/packets/ask",
        method: "POST",
        body: '{"packet_id":"p-$N","asker":"127.0.0.9:9"}',
        count: 20_000,
        concurrency: 16,
      }),
    );
    const after = (await a.status()).load;
    console.log(
      `ask flood: ${JSON.stringify(flood.statuses)} in ${flood.ms} ms; window ${before.idempotency_window} -> ${after.idempotency_window}; RSS ${rss0.toFixed(0)} -> peak ${peakMb.toFixed(0)} MB`,
    );
    expect(flood.statuses).toEqual({ "401": 20_000 });
    expect(after.idempotency_window).toBe(before.idempotency_window);
    expect(after.asks_served).toBe(before.asks_served);
    expect(peakMb - rss0).toBeLessThan(40);
  }, 60_000);

  test("the ask oracle is closed: who handled a device's packet is not told", async () => {
    expect((await post(a, "/handle_request", { processing_load: 1, packet_id: "oracle-1", device_id: "d" })).status).toBe(200);
    const res = await post(a, "/packets/ask", { packet_id: "oracle-1", asker: "127.0.0.9:9" });
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain("handled_by");
  });

  test("a forged forward (x-dsef-hop without node authentication) is refused before it is read", async () => {
    const res = await post(a, "/handle_request", { processing_load: 1, packet_id: "forged-fwd" }, { "x-dsef-hop": "1" });
    expect(res.status).toBe(401);
    // The id was not claimed: the device's own packet is taken normally.
    const real = await post(a, "/handle_request", { processing_load: 1, packet_id: "forged-fwd", device_id: "d" });
    expect(await real.json()).not.toHaveProperty("duplicate");
  });

  test("a signed node request is accepted once; its replay, and the same request sent to another node, are refused", async () => {
    const auth = new NodeAuth(new Keyring([keyFromSecret(KEY)]));
    const body = JSON.stringify({ packet_id: "replayed-ask", asker: `127.0.0.1:${b.port}` });
    const headers = auth.sign("POST", `127.0.0.1:${a.port}`, "/packets/ask", body);
    expect((await post(a, "/packets/ask", body, headers)).status).toBe(200);
    const replay = await post(a, "/packets/ask", body, headers);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: string }).error).toContain("replay");
    const elsewhere = await post(b, "/packets/ask", body, headers);
    expect(elsewhere.status).toBe(401);
    // A wrong key is refused too.
    const stranger = new NodeAuth(new Keyring([keyFromSecret("not-the-cluster-key-0123456789")]));
    expect((await post(a, "/packets/ask", body, stranger.sign("POST", `127.0.0.1:${a.port}`, "/packets/ask", body))).status).toBe(401);
  });

  test("the real nodes still forward to each other (signed), and nothing is refused between them", async () => {
    for (let i = 0; i < 40; i++)
      expect((await post(a, "/handle_request", { processing_load: 100, packet_id: `fwd-${i}`, device_id: "fwd-dev" })).status).toBe(200);
    const s = await a.status();
    expect(s.load.forwarded).toBeGreaterThan(0);
    expect(s.security.node_requests.refused.total).toBeGreaterThan(0); // the attacks above
    expect((await b.status()).security.node_requests.accepted).toBeGreaterThan(0);
  });

  test("no device id on any route an outsider can read", async () => {
    const device = "secret-device-42";
    expect((await post(a, "/handle_request", { processing_load: 1, packet_id: "dev-id-1", device_id: device })).status).toBe(200);
    const stats = await fetch(`${a.url}/stats`);
    expect(stats.status).toBe(401);
    for (const path of ["/peers", "/peer", "/status", "/metrics", "/health", "/ready", "/"]) {
      const text = await (await fetch(`${a.url}${path}`)).text();
      expect(`${path}: ${text.includes(device)}`).toBe(`${path}: false`);
    }
    const events = await fetch(`${a.url}/events`);
    const reader = events.body!.getReader();
    let text = "";
    while ((text.match(/\n\n/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).not.toContain(device);
  });

  test("the dashboard still counts devices across nodes: peers' /stats are read with node authentication", async () => {
    expect((await post(b, "/handle_request", { processing_load: 1, packet_id: "on-b-1", device_id: "device-on-b" })).status).toBe(200);
    const res = await fetch(`${a.url}/events`);
    const reader = res.body!.getReader();
    let devices = 0;
    let text = "";
    const deadline = Date.now() + 10_000;
    while (devices < 2 && Date.now() < deadline) {
      text += new TextDecoder().decode((await reader.read()).value);
      for (const m of text.matchAll(/event: snapshot\ndata: (.*)\n/g)) devices = Math.max(devices, JSON.parse(m[1]!).cluster.devices_active);
    }
    await reader.cancel();
    expect(devices).toBeGreaterThanOrEqual(2);
  }, 20_000);
});
