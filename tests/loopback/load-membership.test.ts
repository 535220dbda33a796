/**
 * Load and membership together (issue 9): once nodes have taken work and gossiped their load,
 * a node killed with SIGKILL and restarted with its data dir rejoins through a loaded node, the
 * restarted first node finds its cluster again, a newcomer joins through a loaded node, each
 * within 5 s; every node then lists every peer's load as that peer last published it, and no
 * datagram between these honest nodes is ever dropped as malformed (`drops.schema`).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { allocPorts, type NodeProcess, type PeerRow, spawnNode, startCluster, stopAll, waitUntil } from "../support/processes.ts";

/** The bound the issue sets for a rejoin and for a join through a loaded node. */
const JOIN_BOUND_MS = 5000;
/** Probe interval of the default (lan) profile: a node considers publishing its backlog this often. */
const PROBE_MS = 1000;
/** Keep each node's work on that node (no forwarding), so every node has a backlog to publish. */
const ARGS = ["--forward-above", "60s", "--max-backlog", "120s"];

let nodes: NodeProcess[] = [];
beforeAll(async () => {
  nodes = await startCluster(3, { args: ARGS });
});
afterAll(() => stopAll(nodes));

let packet = 0;
/** A packet of `units` straight to `n`: 1500 units keep a capacity-1000 node busy for 1.5 s, over the publish threshold. */
async function load(n: NodeProcess, units = 1500): Promise<void> {
  const r = await fetch(`${n.url}/handle_request`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ processing_load: units, packet_id: `lm-${process.pid}-${packet++}`, device_id: `dev-${n.port}` }),
  });
  expect(r.status).toBe(200);
}

/** Every node's own published figure (its self row), keyed by port. */
async function ownFigures(ns: NodeProcess[]): Promise<Map<number, number | undefined>> {
  const rows = await Promise.all(ns.map(async (n) => (await n.peers()).find((p) => p.self)));
  return new Map(ns.map((n, i) => [n.port, rows[i]?.current_load]));
}

/** Is `target` up, ready, listing every node alive, and listed alive by every node? */
async function joined(target: NodeProcess, all: NodeProcess[]): Promise<boolean> {
  const ready = await fetch(`${target.url}/ready`, { signal: AbortSignal.timeout(1000) });
  if (ready.status !== 200) return false;
  const views = await Promise.all(all.map((n) => n.peers()));
  return views.every((v) => all.every((m) => v.some((p) => p.port === m.port && p.state === "alive")));
}

async function describeViews(all: NodeProcess[]): Promise<string> {
  const lines = await Promise.all(
    all.map(async (n) => {
      const v: PeerRow[] = await n.peers().catch(() => []);
      const ready = await fetch(`${n.url}/ready`).then(
        (r) => r.status,
        () => "down",
      );
      return `${n.port} (ready ${ready}): ${v.map((p) => `${p.port}=${p.state}${p.current_load === undefined ? "" : `/load ${p.current_load}`}`).join(" ")}`;
    }),
  );
  const warnings = all.flatMap((n) => n.output.filter((l) => /"level":(40|50)/.test(l)).slice(-3));
  return `views:\n${lines.join("\n")}\nlast warnings:\n${warnings.join("\n")}`;
}

/** Wait until every node's figure for every other node equals that node's own published figure. */
async function everyoneKnowsEveryLoad(all: NodeProcess[], timeoutMs: number): Promise<number> {
  return waitUntil(
    async () => {
      const own = await ownFigures(all);
      if ([...own.values()].some((v) => v === undefined)) return false;
      const views = await Promise.all(all.map((n) => n.peers()));
      return views.every((v) => all.every((m) => v.find((p) => p.port === m.port)?.current_load === own.get(m.port)));
    },
    timeoutMs,
    () => "not every node lists every peer's published load (see the views below)",
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await describeViews(all)}`);
  });
}

test("load gossiped by every node reaches every other node", async () => {
  await Promise.all(nodes.map((n) => load(n)));
  // Published at the next publish tick, then gossiped: within two probe periods (plus the tick).
  const ms = await everyoneKnowsEveryLoad(nodes, 3 * PROBE_MS + 1000);
  console.log(`  every node knew every peer's load ${Math.round(ms)} ms after the packets`);
}, 30_000);

test("a node killed with SIGKILL after taking load restarts and rejoins through a loaded node within 5 s", async () => {
  const victim = nodes[1]!; // bootstraps through nodes[0], which has published its load
  await Promise.all(nodes.map((n) => load(n)));
  await Bun.sleep(2 * PROBE_MS);
  victim.kill("SIGKILL");
  await victim.exited;
  const t0 = performance.now();
  await victim.restart();
  await waitUntil(
    () => joined(victim, nodes),
    JOIN_BOUND_MS - (performance.now() - t0),
    () => "restarted node did not rejoin",
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await describeViews(nodes)}`);
  });
  console.log(`  restarted node rejoined in ${Math.round(performance.now() - t0)} ms`);
}, 30_000);

test("the first node (no --bootstrap), killed and restarted, finds its loaded cluster again within 5 s", async () => {
  const first = nodes[0]!;
  await Promise.all(nodes.map((n) => load(n)));
  await Bun.sleep(2 * PROBE_MS);
  first.kill("SIGKILL");
  await first.exited;
  const t0 = performance.now();
  await first.restart();
  await waitUntil(
    () => joined(first, nodes),
    JOIN_BOUND_MS - (performance.now() - t0),
    () => "restarted first node did not rejoin",
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await describeViews(nodes)}`);
  });
  console.log(`  restarted first node rejoined in ${Math.round(performance.now() - t0)} ms`);
}, 30_000);

test("a newcomer joins through a loaded node within 5 s and learns every load", async () => {
  const through = nodes[2]!; // never restarted: holds every peer's figure
  await Promise.all(nodes.map((n) => load(n)));
  await Bun.sleep(2 * PROBE_MS);
  const t0 = performance.now();
  const newcomer = await spawnNode({ port: allocPorts(1)[0]!, bootstrap: through.url, args: ARGS });
  nodes.push(newcomer);
  await waitUntil(
    () => joined(newcomer, nodes),
    JOIN_BOUND_MS - (performance.now() - t0),
    () => "newcomer did not join",
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await describeViews(nodes)}`);
  });
  console.log(`  newcomer joined through a loaded node in ${Math.round(performance.now() - t0)} ms`);

  // Every node, the newcomer and the restarted ones included, takes work and publishes it.
  await Promise.all(nodes.map((n) => load(n)));
  const ms = await everyoneKnowsEveryLoad(nodes, 3 * PROBE_MS + 1000);
  console.log(`  every node of ${nodes.length} knew every peer's load ${Math.round(ms)} ms after the packets`);
}, 30_000);

test("no datagram between these nodes was dropped as malformed", async () => {
  const drops = await Promise.all(nodes.map(async (n) => (await n.status()).transport.drops));
  for (const d of drops) expect(d.schema).toBe(0);
});
