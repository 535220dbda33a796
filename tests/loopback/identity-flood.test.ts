/**
 * 100 000 random, mutated, replayed and unauthenticated datagrams at a node over real UDP:
 * it keeps working, its member table is unchanged, and every one is counted as a drop.
 */
import { afterAll, expect, test } from "bun:test";
import { randomBytes, randomInt } from "node:crypto";
import { createSocket } from "node:dgram";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { AeadGuard } from "../../src/identity/packet-guard.ts";
import { encodeMessage } from "../../src/wire/codec.ts";
import { startSecuredCluster } from "../support/identity.ts";
import { type NodeProcess, stopAll, waitUntil } from "../support/processes.ts";

const SECRET = "identity-flood-test-secret-0001";
const TOTAL = 100_000;
const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

const table = async (n: NodeProcess) =>
  (await n.peers())
    .map((p) => `${p.id} ${p.port} ${p.state}`)
    .sort()
    .join("\n");

test("a flood of bad datagrams is dropped and counted; the node and its table are unaffected", async () => {
  nodes.push(...(await startSecuredCluster(3, () => ({ args: ["--cluster-key", SECRET] }))));
  const target = nodes[0]!;
  const before = await table(target);
  const s0 = await target.status();
  const other = nodes[1]!;
  const otherId = (await other.status()).id as string;

  // One genuine datagram, as someone holding the key would send it (a ping from a member):
  // its replays must be refused. Forged-looking but unsealed packets must be refused too.
  const sealer = new AeadGuard(new Keyring([keyFromSecret(SECRET)]));
  const genuine = Buffer.from(sealer.seal(encodeMessage({ type: "ping", seq: 1, from: otherId, to: s0.id, nonce: new Uint8Array(16), updates: [] })));
  const unsealed = Buffer.from(encodeMessage({ type: "gossip", from: otherId, updates: [{ kind: "dead", id: otherId, incarnation: 2 ** 40, from: otherId }] }));
  const wrongKey = Buffer.from(new AeadGuard(new Keyring([keyFromSecret("some-other-secret-entirely")])).seal(unsealed));

  const sock = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  const send = (b: Uint8Array) => sock.send(b, target.port, "127.0.0.1");
  send(genuine);
  const kinds = { random: 0, mutated: 0, replayed: 0, unsealed: 0, wrongKey: 0 };
  for (let i = 0; i < TOTAL - 1; i++) {
    const k = i % 5;
    if (k === 0) send(randomBytes(randomInt(0, 1400))), kinds.random++;
    else if (k === 1) {
      const m = Buffer.from(genuine);
      for (let j = randomInt(1, 4); j > 0; j--) m[randomInt(0, m.byteLength)]! ^= 1 << randomInt(0, 8);
      send(m);
      kinds.mutated++;
    } else if (k === 2) send(genuine), kinds.replayed++;
    else if (k === 3) send(unsealed), kinds.unsealed++;
    else send(wrongKey), kinds.wrongKey++;
    // Flow control: let the node catch up every 1000 so the kernel's receive buffer does not
    // overflow (a lost datagram would be the kernel's drop, not the node's).
    if (i % 100 === 99) {
      const want = s0.transport.packetsIn + i - 50;
      await waitUntil(async () => (await target.status()).transport.packetsIn >= want, 300).catch(() => {});
    }
  }
  await Bun.sleep(1500);
  sock.close();

  const s1 = await target.status();
  const dropped = (s: Record<string, any>) => s.transport.drops.unauthenticated + s.transport.drops.replayed;
  const inDelta = s1.transport.packetsIn - s0.transport.packetsIn;
  const openedDelta = s1.security.packets.opened - s0.security.packets.opened;
  const dropDelta = dropped(s1) - dropped(s0);
  console.log({ sent: TOTAL, kinds, packetsIn: inDelta, dropped: dropDelta, opened: openedDelta, refused: s1.security.packets.refused });
  // Every datagram that arrived was either genuine cluster traffic or a counted drop.
  expect(dropDelta).toBe(inDelta - openedDelta);
  expect(dropDelta).toBeGreaterThanOrEqual(TOTAL * 0.95);
  expect(s1.security.packets.refused.replayed).toBeGreaterThanOrEqual(kinds.replayed * 0.95);
  expect(s1.transport.drops.schema + s1.transport.drops.malformed).toBe(s0.transport.drops.schema + s0.transport.drops.malformed);
  // Still working, nothing changed.
  expect(await table(target)).toBe(before);
  expect((await target.peers()).every((p) => p.state === "alive")).toBe(true);
  expect((await fetch(`${target.url}/health`)).ok).toBe(true);
}, 90_000);
