/** NodeMetrics in-process: the request path's one-line hooks show up in the Prometheus text. */
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import parse from "parse-prometheus-text-format";
import { type NodeConfig, parseNodeConfig } from "../../src/config/node-config.ts";
import { loadOrCreateIdentity } from "../../src/identity/node-identity.ts";
import { createLogger } from "../../src/log/logger.ts";
import { NodeMetrics } from "../../src/metrics/node-metrics.ts";
import { EdgeNode } from "../../src/runtime/edge-node.ts";

test("recordRequest moves the request counters, latency histogram and active devices", async () => {
  const config = parseNodeConfig(["--port", "45990", "--data-dir", mkdtempSync(join(tmpdir(), "dsef-m-")), "--promised_capacity", "800"], {}) as NodeConfig;
  const { identity } = loadOrCreateIdentity(config.dataDir);
  const node = new EdgeNode({ config, identity, log: createLogger({ level: "silent", format: "json", name: "t" }) });
  const m = new NodeMetrics(node);
  const forwards: string[] = [];
  m.onRequest((o, r) => o === "forwarded" && forwards.push(r.to!));

  m.recordRequest("accepted", { seconds: 0.002, deviceId: "esp-1" });
  m.recordRequest("accepted", { seconds: 0.004, deviceId: "esp-2" });
  m.recordRequest("forwarded", { seconds: 0.02, deviceId: "esp-1", to: "10.0.0.2:5000" });
  m.recordRequest("rejected", { seconds: Number.NaN });
  m.useBacklog(() => 400);

  const families = new Map(parse(await m.text()).map((f) => [f.name, f]));
  const sample = (name: string, labels: Record<string, string> = {}) =>
    families.get(name)!.metrics.find((x) => JSON.stringify(x.labels ?? {}) === JSON.stringify(labels));
  expect(sample("dsef_requests_total", { outcome: "accepted" })?.value).toBe("2");
  expect(sample("dsef_requests_total", { outcome: "forwarded" })?.value).toBe("1");
  expect(sample("dsef_requests_total", { outcome: "rejected" })?.value).toBe("1");
  expect(sample("dsef_request_duration_seconds")?.count).toBe("3");
  expect(sample("dsef_devices_active")?.value).toBe("2");
  expect(sample("dsef_backlog_units")?.value).toBe("400");
  expect(sample("dsef_load_ratio")?.value).toBe("0.5");
  expect(sample("dsef_capacity_units")?.value).toBe("800");
  expect(forwards).toEqual(["10.0.0.2:5000"]);
});
