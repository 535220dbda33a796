/**
 * Protocol versions in the simulator, through the real driver and codec: nodes of the previous
 * build (version 1 only: msgpack) and of this one (1..2: JSON from version 2) join through each
 * other, detect a crash together, and the cluster writes version 2 once the last version-1 node
 * has left. No datagram is dropped for its format on either side.
 */
import { expect, test } from "bun:test";
import { SimCluster } from "../../src/sim/sim-cluster.ts";
import { PROTOCOL } from "../../src/wire/protocol.ts";

const OLD = { min: 1, max: 1 };
const writes = (c: SimCluster, i: number) => c.nodes[i]!.driver.stats.protocol.writes;
const formatDrops = (c: SimCluster) =>
  c.nodes.reduce((sum, n) => {
    const d = n.driver.stats.drops;
    return sum + d.malformed + d.schema + d.version;
  }, 0);

test("version-1 (msgpack) and version-2 (JSON) nodes form one cluster; it writes 2 once the last version-1 node left", () => {
  expect(PROTOCOL.max).toBe(2);
  // Even nodes are of the previous build; they join through odd ones and the other way round.
  const c = new SimCluster({ n: 10, seed: 4242, joinSpreadMs: 200, protocols: (i) => (i % 2 === 0 ? OLD : PROTOCOL) });
  c.runUntil(() => c.upNodes().every((t) => c.allSee(t, "alive")), 30_000);
  for (const t of c.upNodes()) expect(c.allSee(t, "alive")).toBe(true);
  for (let i = 0; i < 10; i++) expect(writes(c, i)).toBe(1);

  c.crash(3);
  expect(c.runUntil(() => c.allSee(3, "dead"), 15_000, 10)).toBeDefined();

  for (const i of [0, 2, 4, 6, 8]) c.leave(i);
  c.run(5_000);
  for (const i of [1, 5, 7, 9]) expect(writes(c, i)).toBe(2);
  c.run(60_000);
  for (const t of [1, 5, 7, 9]) expect(c.allSee(t, "alive", [1, 5, 7, 9])).toBe(true);
  expect(formatDrops(c)).toBe(0);
});
