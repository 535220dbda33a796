/**
 * Dashboard and observability routes, mounted next to the node API: the page at /, its live
 * feed at /events, Prometheus metrics at /metrics, this node's request figures at /stats
 * (read by other nodes' dashboards), and membership events with log lines at /monitor. Who may read them is the gate's business (http/gate.ts).
 */
import type { Server } from "bun";
import type { ApiAuth } from "../http/api-auth.ts";
import { json } from "../http/json.ts";
import type { LogTap } from "../log/log-tap.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import { Gauge } from "../util/prom.ts";
import { EventHub } from "./event-hub.ts";
import { monitorRoute } from "./monitor.ts";
import page from "./page/index.html";
import { EventStreams } from "./sse.ts";

export function dashboardRoutes(node: EdgeNode, metrics: NodeMetrics, api?: ApiAuth, logTap?: LogTap) {
  // In open mode with --api-token, peers' /stats want the token (in a secured cluster, the node's own MAC).
  const hub = new EventHub(node, metrics, undefined, undefined, api ? { authorization: api.bearer } : {});
  // With --api-token each stream's hello carries a ticket for /events on the other nodes (failover).
  const streams = new EventStreams(hub, undefined, undefined, undefined, api && (() => api.ticket()));
  new Gauge({
    name: "dsef_dashboard_clients",
    help: "Open /events streams.",
    registers: [metrics.registry],
    collect() {
      this.set(hub.subscribers);
    },
  });
  const monitor = monitorRoute(node, logTap, api !== undefined);
  new Gauge({
    name: "dsef_monitor_clients",
    help: "Open /monitor streams (dsef monitor).",
    registers: [metrics.registry],
    collect() {
      this.set(monitor.hub.watchers);
    },
  });
  return {
    "/": page,
    "/monitor": { GET: monitor.handler },
    "/events": { GET: (req: Request, server: Server<undefined>) => streams.open(req, server) },
    "/metrics": { GET: async () => new Response(await metrics.text(), { headers: { "content-type": metrics.contentType } }) },
    "/stats": { GET: () => json(hub.stats()) },
  } as const;
}
