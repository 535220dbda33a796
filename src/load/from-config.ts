/** Build the node's LoadService from its config and its EdgeNode. */
import type { EdgeNode } from "../runtime/edge-node.ts";
import { LoadService } from "./load-service.ts";

export function loadServiceFor(node: EdgeNode): LoadService {
  const c = node.config;
  return new LoadService(
    {
      selfId: node.identity.id,
      selfHttp: node.swim.self.http,
      capacity: c.capacity,
      policy: { forwardAbove: c.forwardAboveMs / 1000, margin: c.forwardAboveMs / 2000, maxBacklog: c.maxBacklogMs / 1000 },
      forwardTimeoutMs: c.forwardTimeoutMs,
      claimTimeoutMs: Math.min(500, c.forwardTimeoutMs),
      windowTtlMs: 10 * 60_000,
      windowMaxEntries: 500_000,
      publishEveryMs: c.timing.probeIntervalMs,
      publishThresholdS: 0.1,
    },
    {
      members: () => node.swim.members(),
      publish: (backlog) => void node.dispatch({ type: "load", backlog }),
      log: node.log,
    },
  );
}
