/**
 * CA mode without a shared secret: the gossip key is handed over inside the handshake.
 * A node joining through a non-founding member gets the same key; two nodes that start at
 * the same time, each bootstrapping from the other, end up accepting each other's keys.
 */
import { afterAll, expect, test } from "bun:test";
import { certifiedDataDir, makeCa, startSecuredCluster } from "../support/identity.ts";
import { allocPorts, allSee, type NodeProcess, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test("CA mode: keys handed over in the handshake; gossip authenticated; simultaneous founders converge", async () => {
  const ca = makeCa();
  const args = ["--ca-pubkey", ca.pubFile];
  const cluster = await startSecuredCluster(2, (i) => ({ args, dataDir: certifiedDataDir(ca.authority, `m${i}`) }));
  nodes.push(...cluster);
  // The third joins through the second, which got its key from the first.
  const [p3] = allocPorts(1);
  const third = await spawnNode({ port: p3!, bootstrap: cluster[1]!.url, args, dataDir: certifiedDataDir(ca.authority, "m2") });
  nodes.push(third);
  await waitUntil(() => allSee(nodes, nodes, "alive"), 15_000);
  const statuses = await Promise.all(nodes.map((n) => n.status()));
  expect(new Set(statuses.map((s) => s.security.mode))).toEqual(new Set(["ca"]));
  expect(new Set(statuses.map((s) => s.security.keys.sending)).size).toBe(1);
  // (A joiner may drop the seed's very first datagram: it can arrive before the handshake's
  // answer hands over the key. After that, nothing is refused.)
  await Bun.sleep(2000);
  for (const [i, s] of (await Promise.all(nodes.map((n) => n.status()))).entries()) {
    expect(s.transport.drops.unauthenticated).toBe(statuses[i]!.transport.drops.unauthenticated);
    expect(s.security.packets.opened).toBeGreaterThan(statuses[i]!.security.packets.opened);
  }

  // Two fresh nodes, each bootstrapping from the other, started together.
  const [x, y] = allocPorts(2);
  const pair = await Promise.all([
    spawnNode({ port: x!, bootstrap: `http://127.0.0.1:${y}`, args, dataDir: certifiedDataDir(ca.authority, "x") }),
    spawnNode({ port: y!, bootstrap: `http://127.0.0.1:${x}`, args, dataDir: certifiedDataDir(ca.authority, "y") }),
  ]);
  nodes.push(...pair);
  await waitUntil(() => allSee(pair, pair, "alive"), 20_000);
  await Bun.sleep(3000);
  expect(await allSee(pair, pair, "alive")).toBe(true);
}, 90_000);

test("secret+ca mode: a joiner needs both the secret and a certificate", async () => {
  const ca = makeCa();
  const other = makeCa();
  const SECRET = "secret-plus-ca-test-secret-0001";
  const args = ["--ca-pubkey", ca.pubFile, "--cluster-key", SECRET];
  const cluster = await startSecuredCluster(2, (i) => ({ args, dataDir: certifiedDataDir(ca.authority, `sc${i}`) }));
  nodes.push(...cluster);
  expect((await cluster[0]!.status()).security.mode).toBe("secret+ca");
  const [p1, p2] = allocPorts(2);
  const outsiders = await Promise.all([
    spawnNode({ port: p1!, bootstrap: cluster[0]!.url, args: ["--ca-pubkey", ca.pubFile], dataDir: certifiedDataDir(ca.authority, "cert-only") }),
    spawnNode({
      port: p2!,
      bootstrap: cluster[0]!.url,
      args: ["--ca-pubkey", other.pubFile, "--cluster-key", SECRET],
      dataDir: certifiedDataDir(other.authority, "secret-only"),
    }),
  ]);
  nodes.push(...outsiders);
  await Bun.sleep(4000);
  for (const o of outsiders) expect((await o.status()).ready).toBe(false);
  const seen = new Set((await cluster[0]!.peers()).map((p) => p.port));
  expect(seen).toEqual(new Set(cluster.map((n) => n.port)));
}, 60_000);

test("CA mode: a member that crashed and restarts without a bootstrap gets the keys back by handshake", async () => {
  const ca = makeCa();
  const args = ["--ca-pubkey", ca.pubFile, "--profile", "local"];
  const cluster = await startSecuredCluster(3, (i) => ({ args, dataDir: certifiedDataDir(ca.authority, `r${i}`) }));
  nodes.push(...cluster);
  const founder = cluster[0]!;
  founder.kill("SIGKILL");
  await founder.exited;
  await waitUntil(() => allSee(cluster.slice(1), [founder], "dead"), 20_000);
  await founder.restart();
  // Its old gossip key is gone; the survivors' reconnect sync is refused (403), so they fall
  // back to the handshake, which hands the cluster keys to the restarted node.
  await waitUntil(() => allSee(cluster, cluster, "alive"), 30_000);
  const kids = new Set((await Promise.all(cluster.map((n) => n.status()))).map((s) => s.security.keys.sending));
  expect(kids.size).toBe(1);
}, 90_000);
