/**
 * An honest node restarted at the same address with a new key (its data dir lost): the old
 * identity is still listed (alive or suspect) but no longer answers there. The join is admitted
 * at once, not refused with 409 until the old entry dies; the new identity takes the address
 * everywhere (it proves it lives there) and the old one is gone.
 */
import { afterAll, expect, test } from "bun:test";
import { logLines, startSecuredCluster } from "../support/identity.ts";
import { type NodeProcess, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const SECRET = "identity-restart-new-key-secret-01";
const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test("a node restarted with a new key at its old address is admitted at once and replaces its old entry", async () => {
  nodes.push(...(await startSecuredCluster(3, () => ({ args: ["--cluster-key", SECRET] }))));
  const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  const oldId = (await c.status()).id as string;
  c.kill("SIGKILL");
  await c.exited;
  // A fresh data dir: a new key, the same port. It joins through A while A still lists the old id.
  const fresh = await spawnNode({ port: c.port, bootstrap: a.url, args: ["--cluster-key", SECRET] });
  nodes.push(fresh);
  const newId = (await fresh.status()).id as string;
  expect(newId).not.toBe(oldId);
  const took = await waitUntil(async () => {
    for (const n of [a, b]) {
      const rows = (await n.peers()).filter((p) => p.port === c.port);
      if (rows.length !== 1 || rows[0]!.id !== newId || rows[0]!.state !== "alive") return false;
    }
    return (await fresh.status()).ready === true;
  }, 10_000);
  console.log(`the new identity took the address everywhere in ${Math.round(took)} ms`);
  expect(logLines(a).filter((l) => l.msg === "refused a join")).toEqual([]);
  expect(logLines(a).some((l) => l.msg === "admitted a node" && l.joiner === newId)).toBe(true);
  for (const n of [a, b]) expect(["dead", "left", undefined]).toContain((await n.peers()).find((p) => p.id === oldId)?.state);
}, 60_000);
