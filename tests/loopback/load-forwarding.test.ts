/**
 * Node-side balancing on real processes: an overloaded node forwards once (hop limit, no
 * ping-pong) with a `redirected` hint, and when every node is beyond --max-backlog the answer
 * is 503 with Retry-After, never a silent drop.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type NodeProcess, startCluster, stopAll } from "../support/processes.ts";

let nodes: NodeProcess[];
beforeAll(async () => {
  nodes = await startCluster(3, { capacities: [100, 100, 100], args: ["--max-backlog", "1s"] });
});
afterAll(() => stopAll(nodes));

test("forward once to peers with room, then 503 + Retry-After when all are saturated", async () => {
  const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  const replies: { status: number; retryAfter: string | null; body: Record<string, unknown> }[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${a.url}/handle_request`, {
      method: "POST",
      body: JSON.stringify({ processing_load: 40, packet_id: `fw-${i}` }),
      headers: { "content-type": "application/json" },
    });
    replies.push({ status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as Record<string, unknown> });
  }
  expect(replies.every((r) => r.status === 200 || r.status === 503)).toBe(true);
  const forwarded = replies.filter((r) => r.status === 200 && r.body.redirected);
  expect(forwarded.length).toBeGreaterThan(0);
  for (const r of forwarded) {
    expect(r.body.handled_by).toBe(r.body.redirected);
    expect([`127.0.0.1:${b.port}`, `127.0.0.1:${c.port}`]).toContain(r.body.handled_by as string);
  }
  const rejected = replies.filter((r) => r.status === 503);
  expect(rejected.length).toBeGreaterThan(0);
  expect(Number(rejected[0]!.retryAfter)).toBeGreaterThanOrEqual(1);

  const [sa, sb, sc] = await Promise.all(nodes.map((n) => n.status()));
  // Hop limit: the peers only ever got forwarded packets and forwarded none of them.
  expect(sb!.load.forwarded + sc!.load.forwarded).toBe(0);
  expect(sa!.load.forwarded).toBe(forwarded.length);
  expect(sa!.load.rejected).toBe(rejected.length);
  // Nobody queued much beyond its limit (1 s of work = 100 units, plus one packet).
  for (const s of [sa, sb, sc]) expect(s!.load.units_accepted).toBeLessThanOrEqual(100 + 40 + 20);
  // Every 200 is a packet some node holds; every 503 is one nobody holds.
  const held = sa!.load.accepted + sb!.load.accepted + sc!.load.accepted;
  expect(held).toBe(replies.filter((r) => r.status === 200).length);
});
