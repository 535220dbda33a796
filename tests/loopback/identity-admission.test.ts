/**
 * Nodes that do not belong cannot join: a wrong or missing secret, a certificate from
 * another CA, an expired one, one for another key. After 10 s they are in no member table,
 * and the seed logged each refusal with its reason.
 */
import { afterAll, expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { certifiedDataDir, idsSeenBy, logLines, makeCa, startSecuredCluster } from "../support/identity.ts";
import { allocPorts, type NodeProcess, spawnNode, stopAll } from "../support/processes.ts";

const SECRET = "identity-admission-test-secret-1";
const started: NodeProcess[] = [];
afterAll(() => stopAll(started));

test("outsiders with no secret, a wrong secret, or bad certificates never get into any member table", async () => {
  const secretCluster = await startSecuredCluster(2, () => ({ args: ["--cluster-key", SECRET] }));
  started.push(...secretCluster);
  const ca = makeCa();
  const caCluster = await startSecuredCluster(2, (i) => ({ args: ["--ca-pubkey", ca.pubFile], dataDir: certifiedDataDir(ca.authority, `member${i}`) }));
  started.push(...caCluster);

  const other = makeCa();
  const anotherKeyDir = certifiedDataDir(ca.authority, "thief");
  // The thief's data dir holds a valid certificate, but for someone else's key.
  copyFileSync(join(certifiedDataDir(ca.authority, "victim"), "node.cert"), join(anotherKeyDir, "node.cert"));
  const [p1, p2, p3, p4, p5] = allocPorts(5);
  const secretSeed = `http://127.0.0.1:${secretCluster[0]!.port}`;
  const caSeed = `http://127.0.0.1:${caCluster[0]!.port}`;
  const outsiders = await Promise.all([
    spawnNode({ port: p1!, bootstrap: secretSeed }),
    spawnNode({ port: p2!, bootstrap: secretSeed, args: ["--cluster-key", "not-the-cluster-secret-at-all"] }),
    spawnNode({ port: p3!, bootstrap: caSeed, args: ["--ca-pubkey", other.pubFile], dataDir: certifiedDataDir(other.authority, "foreign") }),
    spawnNode({ port: p4!, bootstrap: caSeed, args: ["--ca-pubkey", ca.pubFile], dataDir: certifiedDataDir(ca.authority, "expired", { expiresInS: -60 }) }),
    spawnNode({ port: p5!, bootstrap: caSeed, args: ["--ca-pubkey", ca.pubFile], dataDir: anotherKeyDir }),
  ]);
  started.push(...outsiders);
  const outsiderIds = await Promise.all(outsiders.map(async (o) => (await o.status()).id as string));

  await Bun.sleep(10_000);

  const seen = await idsSeenBy([...secretCluster, ...caCluster]);
  for (const id of outsiderIds) expect(seen.has(id)).toBe(false);
  for (const o of outsiders) {
    expect((await o.status()).ready).toBe(false);
    expect((await o.peers()).length).toBe(1);
  }
  // Both clusters are intact.
  for (const n of [...secretCluster, ...caCluster]) expect((await n.peers()).filter((p) => p.state === "alive").length).toBe(2);

  const refusals = [...secretCluster, ...caCluster].flatMap(logLines).filter((l) => l.msg === "refused a join" || l.msg === "refused a sync");
  const reasons = refusals.map((l) => `${l.status} ${l.reason}`).join("\n");
  expect(reasons).toMatch(/401 authentication required/); // no secret: plain /sync is refused
  expect(reasons).toMatch(/403 cluster key not accepted/); // wrong secret
  expect(reasons).toMatch(/403 certificate issued by another authority/);
  expect(reasons).toMatch(/403 certificate expired/);
  expect(reasons).toMatch(/403 certificate is for another node key/);
  // The joiner side says why too.
  expect(logLines(outsiders[1]!).some((l) => l.msg === "join refused" && /403/.test(l.err))).toBe(true);
}, 90_000);
