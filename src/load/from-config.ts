/** Build the node's LoadService from its config and its EdgeNode. */
import { metricsFor, requestOutcome } from "../metrics/node-metrics.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import { LoadService } from "./load-service.ts";
import { httpPeerClient } from "./peer-client.ts";

export function loadServiceFor(node: EdgeNode): LoadService {
  const c = node.config;
  const metrics = metricsFor(node);
  const selfHttp = node.swim.self.http;
  const service = new LoadService(
    {
      selfId: node.identity.id,
      selfHttp,
      capacity: c.capacity,
      policy: { forwardAbove: c.forwardAboveMs / 1000, margin: c.forwardAboveMs / 2000, maxBacklog: c.maxBacklogMs / 1000 },
      forwardTimeoutMs: c.forwardTimeoutMs,
      askTimeoutMs: Math.min(500, c.forwardTimeoutMs),
      windowTtlMs: 10 * 60_000,
      windowMaxEntries: 500_000,
      publishEveryMs: c.timing.probeIntervalMs,
      publishThresholdS: 0.1,
    },
    {
      members: () => node.swim.members(),
      publish: (backlog) => void node.dispatch({ type: "load", backlog }),
      peerClient: httpPeerClient,
      log: node.log,
      answered: (status, body, seconds, deviceId) => {
        const outcome = requestOutcome(status, body, selfHttp);
        if (outcome) metrics.recordRequest(outcome, { seconds, deviceId, to: outcome === "forwarded" ? String(body.handled_by) : undefined });
      },
    },
  );
  // The queue knows the backlog exactly; the gossiped figure lags.
  metrics.useBacklog(() => service.backlog());
  return service;
}
