/**
 * An admitted insider (it holds the cluster key, so its datagrams and syncs authenticate)
 * tries to speak for another member: a fake alive with new metadata, a fake load. The claims
 * are not signed by that member's key, so the nodes refuse them and nothing changes.
 */
import { afterAll, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { signAlive, signLoad } from "../../src/identity/claims.ts";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { generateIdentity, loadOrCreateIdentity } from "../../src/identity/node-identity.ts";
import { AeadGuard } from "../../src/identity/packet-guard.ts";
import { SyncAuth } from "../../src/identity/sync-auth.ts";
import { exchangeState } from "../../src/identity/sync-client.ts";
import type { NodeInfo, Update } from "../../src/membership/types.ts";
import { encodeMessage } from "../../src/wire/codec.ts";
import { startSecuredCluster } from "../support/identity.ts";
import { type NodeProcess, stopAll } from "../support/processes.ts";

const SECRET = "identity-forgery-test-secret-01";
const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test("forged alive/metadata/load for another member are rejected, over UDP and over /sync", async () => {
  nodes.push(...(await startSecuredCluster(3, () => ({ args: ["--cluster-key", SECRET] }))));
  const [a, b] = nodes as [NodeProcess, NodeProcess];
  const victim = (await a.peers()).find((p) => p.port === b.port)!;
  const info: NodeInfo = { id: victim.id, name: "hijacked", gossip: `127.0.0.1:${a.port + 1000}`, http: `127.0.0.1:${a.port + 1000}`, capacity: 999_999 };
  const inc = victim.incarnation + 10;
  const mallory = generateIdentity();
  // The victim's real public key (it travels in every alive proof) with the insider's signature.
  const spliced = new Uint8Array(signAlive(mallory, inc, info));
  spliced.set(loadOrCreateIdentity(b.dataDir).identity.publicKeyRaw, 0);
  const evil: NodeInfo = { id: mallory.id, name: "evil", gossip: `127.0.0.1:${b.port}`, http: `127.0.0.1:${b.port}`, capacity: 1 };
  const forged: Update[] = [
    { kind: "alive", incarnation: inc, info }, // unsigned
    { kind: "alive", incarnation: inc, info, proof: signAlive(mallory, inc, info) }, // signed by the insider's own key
    { kind: "alive", incarnation: inc, info, proof: spliced }, // the victim's key, not its signature
    // A validly self-signed claim for the insider's own id, but at the victim's address: the
    // core would let a new identity replace the old holder of an address, evicting the victim.
    { kind: "alive", incarnation: 1, info: evil, proof: signAlive(mallory, 1, evil) },
    {
      kind: "load",
      id: victim.id,
      load: { version: Date.now() * 2, backlog: 123_456 },
      proof: signLoad(mallory, { version: Date.now() * 2, backlog: 123_456 }),
    },
  ];

  const sealer = new AeadGuard(new Keyring([keyFromSecret(SECRET)]));
  const sock = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  for (let i = 0; i < 5; i++) {
    for (const u of forged) sock.send(sealer.seal(encodeMessage({ type: "gossip", from: mallory.id, updates: [u] })), a.port, "127.0.0.1");
    await Bun.sleep(50);
  }
  sock.close();

  // Over authenticated /sync too: the snapshot claims the victim moved and changed.
  const auth = new SyncAuth(new Keyring([keyFromSecret(SECRET)]), false);
  await exchangeState(a.url.replace("http://", ""), [{ info, state: "alive", incarnation: inc + 1, proof: signAlive(mallory, inc + 1, info) }], false, auth);
  await Bun.sleep(1500);

  for (const n of nodes) {
    const row = (await n.peers()).find((p) => p.id === victim.id)!;
    expect(row.name).toBe(victim.name);
    expect(row.port).toBe(b.port);
    expect(row.promised_capacity).toBe(1000);
    expect(row.state).toBe("alive");
    expect(row.current_load ?? 0).not.toBe(123_456);
  }
  const rejected = (await a.status()).security.claims.rejected;
  console.log(rejected);
  expect(rejected.unsigned).toBeGreaterThanOrEqual(5);
  expect(rejected.wrongKey).toBeGreaterThanOrEqual(6);
  expect(rejected.badSignature).toBeGreaterThanOrEqual(10); // spliced alive + foreign-signed load
  // The claim for the victim's address: refused by the core until its claimant answers there.
  expect((await a.status()).protocol.addressConflicts).toBeGreaterThanOrEqual(5);
  for (const n of nodes) expect((await n.peers()).some((p) => p.id === mallory.id)).toBe(false);
}, 60_000);
