/**
 * Row 3 of the insider table: an insider invents a member that advertises capacity 1e9 and
 * backlog 0, whose HTTP answers "accepted" to every forwarded packet and keeps nothing (no
 * idempotency record: asked later, it has never seen the packet). It answers probes, so it
 * stays alive. Before: it drew nearly every forwarded packet and dropped them. Now its capacity
 * counts only up to --max-peer-capacity, and the forwarding node asks it about packets it
 * accepted: records that do not match stop forwarding to it, with a log line and a metric.
 */
import { afterAll, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { signAlive, signLoad } from "../../src/identity/claims.ts";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { proveLiveness } from "../../src/identity/liveness.ts";
import { generateIdentity } from "../../src/identity/node-identity.ts";
import { AeadGuard } from "../../src/identity/packet-guard.ts";
import { SyncAuth } from "../../src/identity/sync-auth.ts";
import { exchangeState } from "../../src/identity/sync-client.ts";
import type { NodeInfo } from "../../src/membership/types.ts";
import { decodeMessage, encodeMessage } from "../../src/wire/codec.ts";
import { logLines, startSecuredCluster } from "../support/identity.ts";
import { allocPorts, type NodeProcess, stopAll, waitUntil } from "../support/processes.ts";

const SECRET = "insider-phantom-capacity-secret";
const nodes: NodeProcess[] = [];
const closers: (() => void)[] = [];
afterAll(async () => {
  for (const c of closers) c();
  await stopAll(nodes);
});

test("row 3: a phantom with capacity 1e9 that accepts and drops no longer draws the forwarded packets", async () => {
  nodes.push(...(await startSecuredCluster(3, () => ({ args: ["--cluster-key", SECRET] }))));
  const [a] = nodes as [NodeProcess];
  const keyring = new Keyring([keyFromSecret(SECRET)]);

  // The phantom: its own identity, a UDP port that acks pings, an HTTP port that accepts everything.
  const me = generateIdentity();
  const [port] = allocPorts(1);
  const addr = `127.0.0.1:${port}`;
  const info: NodeInfo = { id: me.id, name: "phantom", gossip: addr, http: addr, capacity: 1e9 };
  let taken = 0;
  const server = Bun.serve({
    port: port!,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/handle_request") {
        taken++;
        return Response.json({ status: "accepted", handled_by: addr });
      }
      if (path === "/packets/ask") return Response.json({ seen: false });
      if (path === "/status") return Response.json({ id: me.id });
      return new Response("ok");
    },
  });
  closers.push(() => server.stop(true));
  const guard = new AeadGuard(keyring);
  const udp = createSocket("udp4");
  await new Promise<void>((r) => udp.bind(port!, "127.0.0.1", r));
  closers.push(() => udp.close());
  udp.on("message", (msg, rinfo) => {
    const plain = guard.open(new Uint8Array(msg));
    if (typeof plain === "string") return;
    const d = decodeMessage(plain);
    if (d.ok && d.message.type === "ping" && d.message.to === me.id) {
      const { seq, nonce } = d.message;
      udp.send(guard.seal(encodeMessage({ type: "ack", seq, from: me.id, nonce, proof: proveLiveness(me, nonce), updates: [] })), rinfo.port, rinfo.address);
    }
  });

  const load = { version: Date.now(), backlog: 0 };
  const auth = new SyncAuth(keyring, false);
  for (const n of nodes) {
    await exchangeState(
      n.url.slice(7),
      [{ info, state: "alive", incarnation: 1, proof: signAlive(me, 1, info), load, loadProof: signLoad(me, load) }],
      false,
      auth,
    );
  }
  await waitUntil(async () => (await a.peers()).some((p) => p.id === me.id && p.state === "alive"), 5000);

  // 40 packets, each 0.4 s of the node's work: it wants to forward most of them.
  const handledBy: string[] = [];
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${a.url}/handle_request`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ processing_load: 400, packet_id: `phantom-${i}` }),
    });
    const body = (await res.json()) as { handled_by?: string };
    if (res.status === 200) handledBy.push(body.handled_by!);
    await Bun.sleep(50);
  }
  console.log(
    `the phantom took ${taken} of 40 packets; handled by: ${JSON.stringify(Object.fromEntries(handledBy.map((h) => [h, handledBy.filter((x) => x === h).length])))}`,
  );
  expect(taken).toBeLessThanOrEqual(4);
  expect(handledBy.filter((h) => h === addr).length).toBe(taken);
  expect(logLines(a).some((l) => l.msg === "peer keeps no record of packets it accepted: no longer forwarding to it" && l.peer === addr)).toBe(true);
  const metrics = await (await fetch(`${a.url}/metrics`)).text();
  expect(metrics).toMatch(/dsef_forward_audits_total\{result="mismatch"\} [1-9]/);
  expect(metrics).toMatch(/dsef_peers_distrusted 1/);
}, 60_000);
