/**
 * Identity survives a restart (same node id, same key file). A copy of a member's data dir
 * started elsewhere is a second live process with one id: it is detected and refused, with
 * a clear log line, and the member tables keep the original.
 */
import { afterAll, expect, test } from "bun:test";
import { cpSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { logLines, startSecuredCluster } from "../support/identity.ts";
import { allocPorts, allSee, type NodeProcess, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const SECRET = "identity-restart-test-secret-01";
const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test("a restarted node keeps its id; a copied data dir is refused while the original lives", async () => {
  nodes.push(...(await startSecuredCluster(3, () => ({ args: ["--cluster-key", SECRET] }))));
  const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  const idB = (await b.status()).id as string;
  expect(statSync(join(b.dataDir, "node.key")).mode & 0o777).toBe(0o600);

  b.kill("SIGTERM");
  await b.exited;
  await b.restart();
  expect((await b.status()).id).toBe(idB);
  await waitUntil(() => allSee(nodes, nodes, "alive"), 15_000);
  expect((await a.peers()).filter((p) => p.id === idB).map((p) => p.port)).toEqual([b.port]);

  // Copy B's data dir and start the copy at another port, joining through A and through B.
  const mark = [a, b, c].map((n) => n.output.length);
  const copyDir = mkdtempSync(join(tmpdir(), "dsef-copy-"));
  cpSync(b.dataDir, copyDir, { recursive: true });
  const [p1, p2] = allocPorts(2);
  const viaA = await spawnNode({ port: p1!, dataDir: copyDir, bootstrap: a.url, args: ["--cluster-key", SECRET] });
  const copy2 = mkdtempSync(join(tmpdir(), "dsef-copy-"));
  cpSync(b.dataDir, copy2, { recursive: true });
  const viaB = await spawnNode({ port: p2!, dataDir: copy2, bootstrap: b.url, args: ["--cluster-key", SECRET] });
  nodes.push(viaA, viaB);
  expect((await viaA.status()).id).toBe(idB);

  await Bun.sleep(6000);
  for (const n of [a, b, c]) {
    const rows = (await n.peers()).filter((p) => p.id === idB);
    // Only the original, at its own port (alive; suspect at worst on a loaded machine).
    expect(rows.map((p) => p.port)).toEqual([b.port]);
    expect(["alive", "suspect"]).toContain(rows[0]!.state);
    expect((await n.peers()).some((p) => p.port === viaA.port || p.port === viaB.port)).toBe(false);
  }
  expect((await viaA.status()).ready).toBe(false);
  expect((await viaB.status()).ready).toBe(false);
  // Loud on both sides: the seed says why it refused, the copy says it was refused.
  expect(logLines(a).some((l) => l.msg === "refused a join" && l.status === 409 && /already in use by a live member/.test(l.reason))).toBe(true);
  expect(logLines(b).some((l) => l.msg === "refused a join" && l.status === 409 && /own identity key/.test(l.reason))).toBe(true);
  expect(logLines(viaA).some((l) => l.msg === "join refused" && /409/.test(l.err))).toBe(true);
  // The cluster never flapped over the id once the copies were running.
  const after = [a, b, c].flatMap((n, i) => logLines({ ...n, output: n.output.slice(mark[i]) } as NodeProcess));
  expect(after.filter((l) => l.event === "dead" || l.event === "refuted" || l.event === "left")).toEqual([]);
}, 90_000);
