/**
 * Nodes started together whose remembered peers point elsewhere than their --bootstrap must
 * form one cluster at once, not islands that meet at the next re-resolve (30 s later).
 */
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocPorts, allSee, type NodeProcess, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

let nodes: NodeProcess[] = [];
afterEach(() => stopAll(nodes));

test("any start order and stale memories: one cluster within 5 s", async () => {
  const ports = allocPorts(5);
  const addr = (i: number) => `127.0.0.1:${ports[i]}`;
  // n0 and n2 remember each other; n1, n3, n4 remember each other; all but n0 bootstrap from n0.
  const memory: Record<number, number[]> = { 0: [2], 2: [0], 1: [3, 4], 3: [4, 1], 4: [1, 3] };
  const dirs = ports.map((p, i) => {
    const d = mkdtempSync(join(tmpdir(), `dsef-island-${p}-`));
    writeFileSync(join(d, "peers.json"), JSON.stringify({ peers: memory[i]!.map(addr) }));
    return d;
  });
  const start = performance.now();
  nodes = await Promise.all(ports.map((port, i) => spawnNode({ port, dataDir: dirs[i], bootstrap: i === 0 ? undefined : addr(0) })));
  await waitUntil(
    () => allSee(nodes, nodes, "alive"),
    8000,
    () => "islands remained",
  );
  expect(performance.now() - start).toBeLessThan(5000 + 1000 /* process start */);
  for (const n of nodes) expect((await n.status()).ready).toBe(true);
}, 20_000);
