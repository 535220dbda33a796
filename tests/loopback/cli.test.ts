/** `dsef members` and `dsef status` against real nodes: the same members as /peers, clear errors otherwise. */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { allocPorts, BUN, type NodeProcess, ROOT, startCluster, stopAll } from "../support/processes.ts";

const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

async function dsef(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([BUN, join(ROOT, "src/cli/dsef.ts"), ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, DSEF_NODE: "" } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

test("dsef members prints the members /peers lists, as a table and as JSON; dsef status describes the node", async () => {
  nodes.push(...(await startCluster(3, { capacities: [1000, 800, 500] })));
  const [a] = nodes as [NodeProcess];
  const peers = await a.peers();

  const json = await dsef("members", "--node", a.url, "--json");
  expect(json.code).toBe(0);
  const listed = JSON.parse(json.out) as typeof peers;
  const key = (p: (typeof peers)[number]) => `${p.id} ${p.ip}:${p.port} ${p.state} ${p.promised_capacity}`;
  expect(listed.map(key).sort()).toEqual(peers.map(key).sort());

  const table = await dsef("members", "--node", `127.0.0.1:${a.port}`);
  expect(table.code).toBe(0);
  const lines = table.out.trim().split("\n");
  expect(lines[0]).toMatch(/^NAME\s+ADDRESS\s+STATE\s+INCARNATION\s+CAPACITY/);
  expect(lines).toHaveLength(peers.length + 1);
  for (const p of peers) {
    const row = lines.find((l) => l.includes(p.id));
    expect(row).toBeDefined();
    expect(row!.split(/\s+/)).toEqual(expect.arrayContaining([`127.0.0.1:${p.port}`, p.state, String(p.promised_capacity)]));
  }

  const status = await dsef("status", "--node", a.url);
  expect(status.code).toBe(0);
  expect(status.out).toContain(`address:      127.0.0.1:${a.port}`);
  expect(status.out).toContain("members:      3 alive");
  // The node's own load, as docs/DASHBOARD.md promises.
  await fetch(`${a.url}/handle_request`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ processing_load: 10 }) });
  expect((await dsef("status", "--node", a.url)).out).toMatch(/load: +[\d.]+ units queued, ratio [\d.]+ .*\nrequests: +1 accepted/);
  const statusJson = JSON.parse((await dsef("status", "--node", a.url, "--json")).out);
  expect(statusJson.id).toBe(peers.find((p) => p.self)!.id);
}, 60_000);

test("dsef members fails clearly: nothing listening (exit 1), bad flags (exit 2)", async () => {
  const [free] = allocPorts(1);
  const down = await dsef("members", "--node", `http://127.0.0.1:${free}`);
  expect(down.code).toBe(1);
  expect(down.err).toContain(`cannot reach http://127.0.0.1:${free}`);
  const bad = await dsef("members", "--frobnicate");
  expect(bad.code).toBe(2);
  expect(bad.err).toContain("--frobnicate");
  const badState = await dsef("members", "--state", "zombie");
  expect(badState.code).toBe(2);
}, 30_000);
