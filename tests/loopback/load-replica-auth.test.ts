/**
 * The backup hand-off in a secured cluster: packets reach the backup over the authenticated
 * route, and a caller without the cluster key cannot hand packets over (so it cannot make a
 * backup run work in an owner's name).
 */
import { afterAll, expect, test } from "bun:test";
import { type NodeProcess, startCluster, stopAll, waitUntil } from "../support/processes.ts";

const SECRET = "a-test-cluster-secret-that-is-long-enough";
let nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test("with --cluster-key, accepted packets are kept by the backup; unauthenticated hand-offs are refused", async () => {
  // Capacity 10: packets of 5 units stay queued long enough to be seen at the backup.
  nodes = await startCluster(2, { capacities: [10, 10], args: ["--cluster-key", SECRET, "--forward-above", "30s"] });
  const [a, b] = nodes as [NodeProcess, NodeProcess];
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${a.url}/handle_request`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ processing_load: 5, packet_id: `sec-${i}` }),
    });
    expect(res.status).toBe(200);
  }
  const sa = (await a.status()).load;
  expect(sa.handed).toBe(5);
  await waitUntil(async () => (await b.status()).load.backup_packets === 5, 5000);
  // The backup answers for packets it keeps: GET from it finds them at the owner.
  expect(await (await fetch(`${b.url}/packets/sec-4`)).json()).toMatchObject({ packet_id: "sec-4", handled_by: `127.0.0.1:${a.port}` });

  const forged = { owner: (await a.status()).id, owner_http: `127.0.0.1:${a.port}`, boot: "x1", keep: [{ id: "evil", units: 1 }], done: [] };
  const res = await fetch(`${b.url}/packets/replica`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(forged) });
  expect(res.status).toBe(401);
  expect((await b.status()).load.backup_packets).toBe(5);
});
