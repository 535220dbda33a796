/** Build the node's LoadService from its config and what it needs of the running node. */
import type { NodeConfig } from "../config/node-config.ts";
import type { NodeInfo } from "../membership/types.ts";
import { type LoadHost, LoadService } from "./load-service.ts";
import { httpPeerClient } from "./peer-client.ts";

/** `host` may leave out the peer client: peers are then asked over HTTP. */
export function loadServiceFor(config: NodeConfig, self: NodeInfo, host: Omit<LoadHost, "peerClient"> & Partial<Pick<LoadHost, "peerClient">>): LoadService {
  const c = config;
  return new LoadService(
    {
      selfId: self.id,
      selfHttp: self.http,
      capacity: c.capacity,
      policy: { forwardAbove: c.forwardAboveMs / 1000, margin: c.forwardAboveMs / 2000, maxBacklog: c.maxBacklogMs / 1000 },
      forwardTimeoutMs: c.forwardTimeoutMs,
      askTimeoutMs: Math.min(500, c.forwardTimeoutMs),
      windowTtlMs: 10 * 60_000,
      windowMaxEntries: 500_000,
      publishEveryMs: c.timing.probeIntervalMs,
      publishThresholdS: 0.1,
    },
    { peerClient: httpPeerClient, ...host },
  );
}
