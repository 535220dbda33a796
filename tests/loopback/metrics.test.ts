/**
 * GET /metrics on real nodes: valid Prometheus text, and the counters move with what happens
 * (probing, traffic, a garbage datagram, a node killed with SIGKILL).
 */
import { afterAll, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { type NodeProcess, startCluster, stopAll, waitUntil } from "../support/processes.ts";
import { histogramCount, promtoolCheck, scrape, value } from "../support/prometheus.ts";

const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test("metrics parse as Prometheus text and follow a failure scenario", async () => {
  nodes.push(...(await startCluster(3, { capacities: [1000, 800, 500] })));
  const [a] = nodes as [NodeProcess, NodeProcess, NodeProcess];

  const first = await scrape(a.url);
  expect(first.contentType).toStartWith("text/plain");
  const checked = await promtoolCheck(first.text);
  if (checked) expect(checked.output).toBe("");
  expect(value(first.families, "dsef_members", { state: "alive" })).toBe(3);
  expect(value(first.families, "dsef_capacity_units")).toBe(1000);
  for (const name of [
    "dsef_probes_total",
    "dsef_ping_req_total",
    "dsef_suspicions_total",
    "dsef_refutations_total",
    "dsef_deaths_total",
    "dsef_backlog_units",
    "dsef_load_ratio",
  ])
    expect(Number.isFinite(value(first.families, name))).toBe(true);
  for (const outcome of ["accepted", "forwarded", "rejected"]) expect(value(first.families, "dsef_requests_total", { outcome })).toBe(0);
  expect(first.families.get("dsef_request_duration_seconds")?.type).toBe("HISTOGRAM");

  // Probing goes on: probes, packets, bytes and measured round trips all grow.
  await waitUntil(async () => {
    const s = (await scrape(a.url)).families;
    return (
      value(s, "dsef_probes_total") > value(first.families, "dsef_probes_total") + 2 &&
      value(s, "dsef_packets_total", { direction: "in" }) > value(first.families, "dsef_packets_total", { direction: "in" }) &&
      value(s, "dsef_bytes_total", { direction: "out" }) > value(first.families, "dsef_bytes_total", { direction: "out" }) &&
      histogramCount(s, "dsef_probe_rtt_seconds") > histogramCount(first.families, "dsef_probe_rtt_seconds")
    );
  }, 10_000);

  // A datagram that is not msgpack is counted as a malformed drop, and nothing else breaks.
  const before = (await scrape(a.url)).families;
  const sock = createSocket("udp4");
  await new Promise<void>((r, j) => sock.send(Buffer.from("\xc1 not a swim message"), a.port, "127.0.0.1", (e) => (e ? j(e) : r())));
  sock.close();
  await waitUntil(
    async () =>
      value((await scrape(a.url)).families, "dsef_packets_dropped_total", { reason: "malformed" }) ===
      value(before, "dsef_packets_dropped_total", { reason: "malformed" }) + 1,
    5000,
  );

  // kill -9 one node: the deaths counter and the dead gauge move; the alive gauge falls.
  nodes[2]!.kill("SIGKILL");
  await waitUntil(async () => value((await scrape(a.url)).families, "dsef_members", { state: "dead" }) === 1, 30_000);
  const after = (await scrape(a.url)).families;
  expect(value(after, "dsef_members", { state: "alive" })).toBe(2);
  expect(value(after, "dsef_deaths_total")).toBeGreaterThanOrEqual(value(before, "dsef_deaths_total") + 1);
  // Probing carries on among the survivors (the death may come within one probe period).
  await waitUntil(async () => value((await scrape(a.url)).families, "dsef_probes_total") > value(before, "dsef_probes_total"), 5000);
}, 90_000);
