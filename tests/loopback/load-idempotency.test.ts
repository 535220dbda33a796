/**
 * Idempotency across nodes: a device's retry that lands on another node than its first attempt
 * is acknowledged, not processed again, also when the first node has crashed but its forward
 * lives on elsewhere.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type NodeProcess, startCluster, stopAll, waitUntil } from "../support/processes.ts";

let nodes: NodeProcess[];
beforeAll(async () => {
  nodes = await startCluster(3, { capacities: [1000, 1000, 1000] });
});
afterAll(() => stopAll(nodes));

const addr = (n: NodeProcess) => `127.0.0.1:${n.port}`;
async function send(n: NodeProcess, body: object, headers: Record<string, string> = {}) {
  const res = await fetch(`${n.url}/handle_request`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test("the same packet_id on the same node is acknowledged once", async () => {
  const p = { processing_load: 10, packet_id: "same-node-1" };
  expect((await send(nodes[0]!, p)).body).toMatchObject({ status: "accepted", handled_by: addr(nodes[0]!) });
  expect((await send(nodes[0]!, p)).body).toMatchObject({ status: "accepted", duplicate: true, handled_by: addr(nodes[0]!) });
});

test("a retry on another node asks the node tried before", async () => {
  const p = { processing_load: 10, packet_id: "other-node-1" };
  await send(nodes[0]!, p);
  const r = await send(nodes[1]!, { ...p, tried: [addr(nodes[0]!)] });
  expect(r.body).toMatchObject({ status: "accepted", duplicate: true, handled_by: addr(nodes[0]!) });
  expect((await nodes[1]!.status()).load.accepted).toBe(0);
});

test("a late original after the retry was taken elsewhere is acknowledged, not processed", async () => {
  const p = { processing_load: 10, packet_id: "late-original-1" };
  // The retry reaches node 1 first; node 1 claims the id at node 0 (tried, no answer seen yet).
  const r = await send(nodes[1]!, { ...p, tried: [addr(nodes[0]!)] });
  expect(r.body).toMatchObject({ status: "accepted", handled_by: addr(nodes[1]!) });
  expect(r.body.duplicate).toBeUndefined();
  const late = await send(nodes[0]!, p);
  expect(late.body).toMatchObject({ duplicate: true, handled_by: addr(nodes[1]!) });
});

test("the first node crashed: the new node asks everyone and finds the copy", async () => {
  const p = { processing_load: 10, packet_id: "crashed-1" };
  // The packet went to node 2 (as if node 0 had forwarded it there), then node 0 dies.
  await send(nodes[2]!, p, { "x-dsef-hop": "1" });
  nodes[0]!.kill("SIGKILL");
  await nodes[0]!.exited;
  const r = await send(nodes[1]!, { ...p, tried: [addr(nodes[0]!)] });
  expect(r.body).toMatchObject({ status: "accepted", duplicate: true, handled_by: addr(nodes[2]!) });
  // An id nobody has is simply processed.
  const fresh = await send(nodes[1]!, { processing_load: 10, packet_id: "crashed-2", tried: [addr(nodes[0]!)] });
  expect(fresh.body).toMatchObject({ status: "accepted", handled_by: addr(nodes[1]!) });
  expect(fresh.body.duplicate).toBeUndefined();
  await waitUntil(async () => (await nodes[1]!.status()).load.accepted === 2, 2000);
});
