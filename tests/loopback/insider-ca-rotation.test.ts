/**
 * CA mode: the gossip key rotates too. A member whose certificate expired is removed (see
 * insider-ca.test.ts), but it still holds the gossip key it was handed at its join. SIGHUP on
 * any one node makes a new key and hands it to every live member over the handshake (each side
 * shows a valid certificate); nodes send with it once it has spread and then drop the old one.
 * The removed member never gets it: its datagrams and syncs are refused from then on.
 */
import { afterAll, expect, test } from "bun:test";
import { certifiedDataDir, logLines, makeCa, startSecuredCluster } from "../support/identity.ts";
import { allocPorts, type NodeProcess, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test("SIGHUP in CA mode rotates the gossip key to every certified member, and not to a removed one", async () => {
  const ca = makeCa();
  const args = ["--ca-pubkey", ca.pubFile];
  const honest = await startSecuredCluster(3, (i) => ({ args, dataDir: certifiedDataDir(ca.authority, `rot${i}`) }));
  nodes.push(...honest);
  const [port] = allocPorts(1);
  const removed = await spawnNode({ port: port!, bootstrap: honest[0]!.url, args, dataDir: certifiedDataDir(ca.authority, "leaver", { expiresInS: 6 }) });
  nodes.push(removed);
  const states = async () => Promise.all(honest.map(async (n) => (await n.peers()).find((p) => p.port === port)?.state));
  await waitUntil(async () => (await states()).every((s) => s === "alive"), 5000);
  await waitUntil(async () => (await states()).every((s) => s === "dead" || s === undefined), 10_000);
  const oldKid = (await honest[0]!.status()).security.keys.sending as string;
  expect((await removed.status()).security.keys.sending).toBe(oldKid);

  honest[1]!.kill("SIGHUP");
  const took = await waitUntil(async () => {
    const keys = await Promise.all(honest.map(async (n) => (await n.status()).security.keys));
    return keys.every((k) => k.sending !== oldKid && k.sending === keys[0].sending && !k.accepted.includes(oldKid));
  }, 45_000);
  console.log(`every certified member sends with the new key and has dropped the old one ${Math.round(took)} ms after SIGHUP`);
  expect(logLines(honest[1]!).some((l) => /gossip key rotation/.test(l.msg))).toBe(true);
  // The cluster stayed whole through it.
  for (const n of honest) expect((await n.peers()).filter((p) => p.state === "alive").length).toBe(3);
  // The removed member holds only the old key: nothing it sends opens any more.
  const newKid = (await honest[0]!.status()).security.keys.sending as string;
  expect((await removed.status()).security.keys.accepted).not.toContain(newKid);
  const before = await Promise.all(honest.map(async (n) => (await n.status()).security.packets.refused.unknownKey as number));
  await Bun.sleep(3000);
  const after = await Promise.all(honest.map(async (n) => (await n.status()).security.packets.refused.unknownKey as number));
  expect(after.reduce((a, b) => a + b, 0)).toBeGreaterThan(before.reduce((a, b) => a + b, 0));
}, 90_000);
