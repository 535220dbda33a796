/**
 * CA mode: who may exist. Every identity in a member table must be covered by a valid
 * certificate from the cluster authority, for the name it uses, for as long as it is listed:
 * - a member whose certificate expires after it joined is removed by every node within one
 *   suspicion timeout (not kept alive by anything it or its address still answers);
 * - a certificate issued to "node1" cannot be used as "admin-console";
 * - an insider holding the gossip key cannot put uncertified identities into the tables.
 */
import { afterAll, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { caPublicKeyFromPem, issueCertificate } from "../../src/identity/certificate.ts";
import { caClaimSigner, signAlive } from "../../src/identity/claims.ts";
import { joinVia } from "../../src/identity/join-client.ts";
import { Keyring } from "../../src/identity/keyring.ts";
import { generateIdentity, loadOrCreateIdentity } from "../../src/identity/node-identity.ts";
import { AeadGuard } from "../../src/identity/packet-guard.ts";
import { SyncAuth } from "../../src/identity/sync-auth.ts";
import { exchangeState } from "../../src/identity/sync-client.ts";
import type { MemberSnapshot, NodeInfo } from "../../src/membership/types.ts";
import { encodeMessage } from "../../src/wire/codec.ts";
import { certifiedDataDir, idsSeenBy, logLines, makeCa, startSecuredCluster } from "../support/identity.ts";
import { allocPorts, type NodeProcess, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

/** State of the member on `port` as each observer lists it ("absent" when not listed). */
async function statesOf(observers: NodeProcess[], port: number): Promise<string[]> {
  return Promise.all(observers.map(async (o) => (await o.peers()).find((p) => p.port === port)?.state ?? "absent"));
}

test("row 6: a certificate that expires after the join gets its member removed everywhere within one suspicion timeout", async () => {
  const ca = makeCa();
  const args = ["--ca-pubkey", ca.pubFile];
  const honest = await startSecuredCluster(3, (i) => ({ args, dataDir: certifiedDataDir(ca.authority, `honest${i}`) }));
  nodes.push(...honest);
  const expiresInS = 10;
  const issuedAt = Date.now();
  const [port] = allocPorts(1);
  const shortLived = await spawnNode({ port: port!, bootstrap: honest[0]!.url, args, dataDir: certifiedDataDir(ca.authority, "short", { expiresInS }) });
  nodes.push(shortLived);
  await waitUntil(async () => (await statesOf(honest, port!)).every((s) => s === "alive"), 8000);
  const expiry = Math.floor(issuedAt / 1000 + expiresInS) * 1000;
  expect(Date.now()).toBeLessThan(expiry);

  await Bun.sleep(expiry - Date.now());
  // lan profile, 4 members: the suspicion timeout is 3 s (3 x max(1, log10 4) x 1 s).
  const took = await waitUntil(
    async () => (await statesOf(honest, port!)).every((s) => s === "dead" || s === "absent"),
    3000,
    () => "still listed",
  );
  console.log(`expired member removed by all 3 honest nodes ${Math.round(took)} ms after its certificate expired`);
  // And it stays out: it still runs, answers /health and refutes, but nothing revives it.
  for (let i = 0; i < 10; i++) {
    await Bun.sleep(500);
    for (const s of await statesOf(honest, port!)) expect(s === "dead" || s === "absent").toBe(true);
  }
  // The first node to see the expiry says why; the others may hear the death from it first.
  const why = honest.flatMap(logLines).filter((l) => l.msg === "member certificate expired: removed");
  expect(why.length).toBeGreaterThanOrEqual(1);
}, 60_000);

test("row 6: a certificate issued to node1 cannot be used as admin-console", async () => {
  const ca = makeCa();
  const args = ["--ca-pubkey", ca.pubFile];
  const honest = await startSecuredCluster(2, (i) => ({ args, dataDir: certifiedDataDir(ca.authority, `m${i}`) }));
  nodes.push(...honest);
  const [port] = allocPorts(1);
  const impostor = await spawnNode({
    port: port!,
    bootstrap: honest[0]!.url,
    args: [...args, "--name", "admin-console"],
    dataDir: certifiedDataDir(ca.authority, "node1"),
  });
  nodes.push(impostor);
  await Bun.sleep(5000);
  expect((await impostor.status()).ready).toBe(false);
  for (const n of honest) expect((await n.peers()).some((p) => p.name === "admin-console" || p.port === port)).toBe(false);
  const refusals = honest.flatMap(logLines).filter((l) => l.msg === "refused a join");
  expect(refusals.map((l) => l.reason).join("\n")).toMatch(/certificate is for "node1"/);
}, 60_000);

test("CA mode: an insider with the gossip key cannot list identities that hold no certificate", async () => {
  const ca = makeCa();
  const args = ["--ca-pubkey", ca.pubFile];
  const honest = await startSecuredCluster(2, (i) => ({ args, dataDir: certifiedDataDir(ca.authority, `h${i}`) }));
  nodes.push(...honest);
  // The insider: a valid certificate, admitted by handshake, so it holds the gossip key.
  const dir = certifiedDataDir(ca.authority, "insider");
  const me = loadOrCreateIdentity(dir).identity;
  const cert = issueCertificate(ca.authority, me.publicKeyRaw, "insider", Date.now() / 1000 + 3600);
  const caKey = caPublicKeyFromPem(readFileSync(ca.pubFile, "utf8"));
  const keyring = new Keyring();
  const creds = { keyring, secret: false, caKey, cert, shareKeys: true };
  const [ip] = allocPorts(1);
  const mine: NodeInfo = { id: me.id, name: "insider", gossip: `127.0.0.1:${ip}`, http: `127.0.0.1:${ip}`, capacity: 1000 };
  const signer = caClaimSigner(me, cert);
  await joinVia(honest[0]!.url.slice(7), me, creds, [{ info: mine, state: "alive", incarnation: 1, proof: signer(1, mine) }]);
  expect(keyring.sendKey).toBeDefined();

  // Invented identities, each validly self-signed, but with no certificate (or with the
  // insider's own certificate attached, which is for another key).
  const invented = Array.from({ length: 20 }, (_, i) => {
    const id = generateIdentity();
    const info: NodeInfo = { id: id.id, name: `ghost${i}`, gossip: `127.0.0.1:${ip! + 100 + i}`, http: honest[1]!.url.slice(7), capacity: 1000 };
    const plain = signAlive(id, 1, info);
    const withForeignCert = new Uint8Array([...plain, ...signer(1, mine).subarray(plain.byteLength)]);
    return { info, proof: i % 2 === 0 ? plain : withForeignCert };
  });
  const sealer = new AeadGuard(keyring);
  const sock = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  for (let k = 0; k < 3; k++) {
    for (const g of invented.slice(0, 10))
      sock.send(
        sealer.seal(encodeMessage({ type: "gossip", from: me.id, updates: [{ kind: "alive", incarnation: 1, info: g.info, proof: g.proof }] })),
        honest[0]!.port,
        "127.0.0.1",
      );
    await Bun.sleep(50);
  }
  sock.close();
  const snaps: MemberSnapshot[] = invented.slice(10).map((g) => ({ info: g.info, state: "alive", incarnation: 1, proof: g.proof }));
  await exchangeState(honest[1]!.url.slice(7), snaps, false, new SyncAuth(keyring, true));
  await Bun.sleep(2000);
  const seen = await idsSeenBy(honest);
  for (const g of invented) expect(seen.has(g.info.id)).toBe(false);
  const rejected = (await honest[0]!.status()).security.claims.rejected;
  expect(rejected.uncertified).toBeGreaterThanOrEqual(10);
}, 60_000);
