/** EventHub in-process: hello and snapshot on subscribe, forward tallies, request rates, clean unsubscribe. */
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NodeConfig, parseNodeConfig } from "../../src/config/node-config.ts";
import { EventHub } from "../../src/dashboard/event-hub.ts";
import { loadOrCreateIdentity } from "../../src/identity/node-identity.ts";
import { createLogger } from "../../src/log/logger.ts";
import { NodeMetrics } from "../../src/metrics/node-metrics.ts";
import { EdgeNode } from "../../src/runtime/edge-node.ts";

test("the hub greets, tallies forwards into the timeline, and reports request rates", async () => {
  const config = parseNodeConfig(["--port", "45991", "--data-dir", mkdtempSync(join(tmpdir(), "dsef-h-"))], {}) as NodeConfig;
  const node = new EdgeNode({ config, identity: loadOrCreateIdentity(config.dataDir).identity, log: createLogger({ level: "silent", format: "json" }) });
  const metrics = new NodeMetrics(node);
  const hub = new EventHub(node, metrics, 2, 100);
  const got: { event: string; data: any }[] = [];
  const stop = hub.subscribe((event, data) => got.push({ event, data }))!;
  expect(got.map((g) => g.event)).toEqual(["hello", "snapshot"]);
  expect(got[1]!.data.members).toHaveLength(1);

  const stopOther = hub.subscribe(() => {})!;
  expect(hub.subscribe(() => {})).toBeUndefined(); // full at 2

  for (let i = 0; i < 3; i++) metrics.recordRequest("forwarded", { to: "10.0.0.9:5000", deviceId: `d${i}` });
  for (let i = 0; i < 20; i++) metrics.recordRequest("accepted", { deviceId: "d0" });
  await Bun.sleep(350);
  const forward = got.find((g) => g.event === "timeline" && g.data.kind === "forward");
  expect(forward?.data.text).toBe("127.0.0.1:45991 forwarded 3 requests to 10.0.0.9:5000");
  const last = got.filter((g) => g.event === "snapshot").at(-1)!.data;
  expect(last.cluster.nodes[node.identity.id]).toMatchObject({ accepted: 20, forwarded: 3 });
  expect(last.cluster.devices_active).toBe(3);
  expect(hub.stats().requests.accepted).toBe(20);

  stop();
  expect(hub.subscribers).toBe(1);
  const count = got.length;
  await Bun.sleep(250);
  expect(got.length).toBe(count);
  stopOther();
  expect(hub.subscribers).toBe(0);
});
