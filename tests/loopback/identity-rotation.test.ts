/**
 * Rolling rotation of the shared secret with no downtime: every node's key file goes
 * old → "old,new" → "new,old" → "new", each step applied with SIGHUP to all nodes before the
 * next. No node is ever suspected or declared dead, and a node with only the new key joins.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyFromSecret } from "../../src/identity/keyring.ts";
import { logLines, startSecuredCluster } from "../support/identity.ts";
import { allocPorts, allSee, type NodeProcess, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const OLD = "rotation-test-old-secret-00001";
const NEW = "rotation-test-new-secret-00002";
const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test("3 nodes roll to a new secret with no node suspected or declared dead", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dsef-rotation-"));
  const files = [0, 1, 2].map((i) => join(dir, `key${i}`));
  for (const f of files) writeFileSync(f, `${OLD}\n`, { mode: 0o600 });
  nodes.push(...(await startSecuredCluster(3, (i) => ({ args: ["--cluster-key-file", files[i]!] }))));

  const step = async (content: string, sendKid: string) => {
    for (const [i, n] of nodes.entries()) {
      writeFileSync(files[i]!, content);
      n.proc.kill("SIGHUP");
      // Spread the nodes' switches over time, as a real rolling update would.
      await Bun.sleep(700);
    }
    await waitUntil(async () => (await Promise.all(nodes.map((n) => n.status()))).every((s) => s.security.keys.sending === sendKid), 5000);
    await Bun.sleep(2500);
    expect(await allSee(nodes, nodes, "alive")).toBe(true);
  };
  const oldKid = keyFromSecret(OLD).kid;
  const newKid = keyFromSecret(NEW).kid;
  await step(`${OLD}\n${NEW}\n`, oldKid);
  await step(`${NEW}\n${OLD}\n`, newKid);
  await step(`${NEW}\n`, newKid);
  for (const n of nodes) expect((await n.status()).security.keys.accepted).toEqual([newKid]);

  // A newcomer that only knows the new secret joins; one with the retired secret does not.
  const [p1, p2] = allocPorts(2);
  const fresh = await spawnNode({ port: p1!, bootstrap: nodes[0]!.url, args: ["--cluster-key", NEW] });
  const stale = await spawnNode({ port: p2!, bootstrap: nodes[0]!.url, args: ["--cluster-key", OLD] });
  nodes.push(fresh, stale);
  await waitUntil(() => allSee(nodes.slice(0, 4), nodes.slice(0, 4), "alive"), 10_000);
  expect((await stale.status()).ready).toBe(false);

  // Nobody was ever suspected or declared dead during the roll.
  const events = nodes
    .slice(0, 3)
    .flatMap(logLines)
    .filter((l) => l.event === "suspect" || l.event === "dead");
  expect(events).toEqual([]);
  const drops = (await Promise.all(nodes.slice(0, 3).map((n) => n.status()))).map((s) => s.transport.drops.unauthenticated);
  console.log({ unauthenticatedDropsDuringRoll: drops });
}, 90_000);
