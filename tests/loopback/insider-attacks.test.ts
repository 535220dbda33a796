/**
 * Issue 11's insider attacks on real processes: the attacker holds the cluster key (so its
 * datagrams authenticate) and its own identity key, never the victim's. Each attack must have
 * no effect beyond the attacker's own entry.
 */
import { afterEach, expect, test } from "bun:test";
import { createSocket, type Socket } from "node:dgram";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { AeadGuard } from "../../src/identity/packet-guard.ts";
import type { Message } from "../../src/membership/types.ts";
import { encodeMessage } from "../../src/wire/codec.ts";
import { startSecuredCluster } from "../support/identity.ts";
import { type NodeProcess, type PeerRow, stopAll, waitUntil } from "../support/processes.ts";

const SECRET = "insider-attacks-test-secret-01";
const ARGS = ["--cluster-key", SECRET, "--profile", "local"];
let nodes: NodeProcess[] = [];
let sock: Socket | undefined;
afterEach(async () => {
  for (const n of nodes) n.kill("SIGCONT");
  await stopAll(nodes);
  nodes = [];
  sock?.close();
  sock = undefined;
});

/** The insider's tool: datagrams sealed with the cluster key, sent from its own socket. */
async function insider(): Promise<(port: number, m: Message) => void> {
  const sealer = new AeadGuard(new Keyring([keyFromSecret(SECRET)]));
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  sock = s;
  return (port, m) => s.send(sealer.seal(encodeMessage(m)), port, "127.0.0.1");
}

const rowOf = async (n: NodeProcess, port: number): Promise<PeerRow | undefined> => (await n.peers()).find((p) => p.port === port);

test("row 1: suspect/dead naming a huge or unannounced incarnation does not remove the victim", async () => {
  nodes = await startSecuredCluster(3, () => ({ args: ARGS }));
  const [a, b, victim] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  const send = await insider();
  const row = (await rowOf(a, victim.port))!;
  const attacker = "0123456789abcdef";
  const forged: Message = {
    type: "gossip",
    from: attacker,
    updates: [
      { kind: "suspect", id: row.id, incarnation: 2 ** 53 - 1, from: attacker }, // out of the schema's range
      { kind: "suspect", id: row.id, incarnation: 2 ** 39, from: attacker }, // beyond the clock's ceiling
      { kind: "dead", id: row.id, incarnation: row.incarnation + 1, from: attacker }, // never announced
    ],
  };
  for (let i = 0; i < 3; i++) {
    for (const n of [a, b]) send(n.port, forged);
    await Bun.sleep(100);
  }
  await Bun.sleep(3000);
  for (const n of nodes) {
    const r = await rowOf(n, victim.port);
    expect(r?.state ?? "alive").toBe("alive");
    expect(r?.incarnation ?? row.incarnation).toBe(row.incarnation);
  }
  for (const n of [a, b]) {
    const s = await n.status();
    expect(s.protocol.invalidIncarnations).toBeGreaterThanOrEqual(3);
    expect(s.transport.updatesDropped).toBeGreaterThanOrEqual(3);
  }
  // Still alive after a restart, too (the issue saw it shut out again).
  victim.kill("SIGKILL");
  await victim.exited;
  await victim.restart();
  await waitUntil(async () => (await Promise.all(nodes.map((n) => rowOf(n, victim.port)))).every((r) => !r || r.state === "alive"), 15_000);
  await Bun.sleep(2000);
  for (const n of [a, b]) expect((await rowOf(n, victim.port))!.state).toBe("alive");
}, 60_000);
