/**
 * An outsider that sends too much from one address: a request flood, many requests held open,
 * many dashboard streams. It gets 429s with Retry-After; a device and a dashboard on another
 * address are served exactly as without it. (The outsider's client runs under Node from
 * 127.0.0.2, another machine as far as a node on 127.0.0.1 can tell.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSecuredCluster } from "../support/identity.ts";
import { holdStreams, outsider } from "../support/outsider.ts";
import { type NodeProcess, stopAll, waitUntil } from "../support/processes.ts";
import { scrape, value } from "../support/prometheus.ts";
import { readSse } from "../support/sse.ts";

const KEY = "outsider-fair-use-test-cluster-key-0123456789";
const RATE = 200;
let nodes: NodeProcess[] = [];
let target: NodeProcess;

beforeAll(async () => {
  nodes = await startSecuredCluster(2, () => ({ args: ["--cluster-key", KEY, "--rate-limit", String(RATE), "--client-concurrency", "16"] }));
  target = nodes[0]!;
}, 30_000);
afterAll(() => stopAll(nodes));

/**
 * A device on 127.0.0.1 sending `n` packets, one every `everyMs`: the final status of each. Like
 * a real device it sends a packet again after a 503's Retry-After (the node paces a device
 * while its queue is busy, and the flood keeps it busy); a 429 it never retries.
 */
async function device(n: number, everyMs: number, tag: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    let status = 0;
    for (let attempt = 0; attempt < 10; attempt++) {
      const res = await fetch(`${target.url}/handle_request`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ processing_load: 1, packet_id: `${tag}-${i}`, device_id: tag }),
      });
      status = res.status;
      const body = status === 503 ? ((await res.json()) as { retry_after_ms?: number }) : (await res.body?.cancel(), undefined);
      if (status !== 503) break;
      await Bun.sleep(body?.retry_after_ms ?? 1000);
    }
    statuses.push(status);
    await Bun.sleep(everyMs);
  }
  return statuses;
}

describe("fair use per client address", () => {
  test("a flood from one address gets 429 + Retry-After; a device elsewhere loses nothing", async () => {
    const [flood, dev] = await Promise.all([
      outsider({
        kind: "flood",
        port: target.port,
        from: "127.0.0.2",
        path: "/handle_request",
        method: "POST",
        body: '{"processing_load": 1}',
        count: 5000,
        concurrency: 8,
      }),
      device(60, 25, "fair-dev"),
    ]);
    console.log(`flood: ${JSON.stringify(flood.statuses)} in ${flood.ms} ms; device: ${dev.filter((s) => s === 200).length}/${dev.length} accepted`);
    expect(flood.statuses["429"]).toBeGreaterThan(2500);
    expect(flood.retryAfter.length).toBeGreaterThan(0);
    // Only about RATE per second (plus the burst) got through.
    expect(flood.statuses["200"] ?? 0).toBeLessThan(RATE * 2 + (RATE * flood.ms) / 1000 + 50);
    expect(dev.every((s) => s === 200)).toBe(true);
  }, 60_000);

  test("requests held open from one address are capped: the rest get 429 at once", async () => {
    const held = outsider({ kind: "slow", port: target.port, from: "127.0.0.2", path: "/handle_request", count: 64, holdMs: 2000 });
    await Bun.sleep(500);
    const dev = await device(10, 20, "held-dev");
    const r = await held;
    console.log(`64 unfinished bodies: ${JSON.stringify(r)}; device ${dev.filter((s) => s === 200).length}/10`);
    expect(r.statuses["429"]).toBeGreaterThanOrEqual(64 - 16);
    expect(r.silent).toBeLessThanOrEqual(16);
    expect(dev.every((s) => s === 200)).toBe(true);
  }, 30_000);

  test("64 dashboard streams from one address: a few are held, the rest refused; a new dashboard elsewhere gets its snapshot", async () => {
    const attacker = await holdStreams({ port: target.port, from: "127.0.0.2", path: "/events", count: 64 });
    try {
      console.log(`attacker's 64 streams: ${JSON.stringify(attacker.result.statuses)}`);
      expect(attacker.result.statuses["200:hello"]).toBeLessThanOrEqual(8);
      expect(attacker.result.statuses["429:data"]).toBeGreaterThanOrEqual(56);
      const abort = new AbortController();
      const stream = readSse(`${target.url}/events`, abort.signal);
      const first = (await stream.next()).value;
      const second = (await stream.next()).value;
      abort.abort();
      expect(first?.event).toBe("hello");
      expect(second?.event).toBe("snapshot");
      expect(second?.data.members.length).toBe(2);
    } finally {
      await attacker.stop();
    }
    // The attacker's streams are let go when it goes away.
    await waitUntil(async () => value((await scrape(target.url)).families, "dsef_dashboard_clients") === 0, 5000);
  }, 30_000);

  test("the node counts what it refused", async () => {
    const text = await (await fetch(`${target.url}/metrics`)).text();
    expect(text).toMatch(/dsef_http_refused_total\{reason="rate"\} [1-9]/);
    expect(text).toMatch(/dsef_http_refused_total\{reason="concurrency"\} [1-9]/);
  });
});

describe("fair use is for clients, not for the cluster's own nodes", () => {
  let pair: NodeProcess[] = [];
  afterAll(() => stopAll(pair));

  test("a busy node's forwards and backup hand-offs to a peer with a tight --rate-limit all get through", async () => {
    // b allows 2 requests/s per address; a (small) must forward to b and hand every packet it
    // keeps to b as its backup, all from a's one address.
    pair = await startSecuredCluster(2, (i) => ({
      args: ["--cluster-key", KEY, "--promised_capacity", i === 0 ? "100" : "100000", ...(i === 1 ? ["--rate-limit", "2"] : [])],
    }));
    const [a, b] = pair as [NodeProcess, NodeProcess];
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        fetch(`${a.url}/handle_request`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ processing_load: 20, packet_id: `fair-${i}`, device_id: `fair-dev-${i}` }),
        }).then((r) => r.status),
      ),
    );
    expect(replies.filter((s) => s !== 200)).toEqual([]);
    const [sa, sb] = await Promise.all([a.status(), b.status()]);
    expect(sa.load.forwarded).toBeGreaterThan(5);
    expect(sa.load.forward_failures + sa.load.handoff_failures).toBe(0);
    expect(sb.security.node_requests.accepted).toBeGreaterThan(5);
    // This test's own reads come from 127.0.0.1 too, without node authentication, and b allows
    // that address 2/s (burst 4): wait for the allowance to refill before reading the count.
    await Bun.sleep(2100);
    expect(await (await fetch(`${b.url}/metrics`)).text()).toMatch(/dsef_http_refused_total\{reason="rate"\} 0/);
  }, 30_000);
});
