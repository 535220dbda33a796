/** Build the node's LoadService (and what runs its packets) from its config and what it needs of the running node. */
import type { NodeConfig } from "../config/node-config.ts";
import type { Logger } from "../log/logger.ts";
import type { NodeInfo } from "../membership/types.ts";
import { type Executor, synthetic } from "./executor.ts";
import { type LoadHost, LoadService } from "./load-service.ts";
import { httpPeerClient } from "./peer-client.ts";
import { upstreamExecutor } from "./upstream.ts";
import { WorkerPool } from "./worker-pool.ts";

/**
 * What runs packets: --handler (Workers), --upstream (a local service) or the synthetic
 * handler. Rejects (with the module's own message) when --handler cannot be loaded.
 */
export async function executorFor(c: NodeConfig, log: Logger): Promise<Executor> {
  if (c.handler) return WorkerPool.start(c.handler, c.workers, c.handlerTimeoutMs, log);
  if (c.upstream) return upstreamExecutor(c.upstream, c.workers, c.handlerTimeoutMs);
  return synthetic;
}

/** `host` may leave out the peer client: peers are then asked over HTTP (peerFetch). */
export function loadServiceFor(
  config: NodeConfig,
  self: NodeInfo,
  host: Omit<LoadHost, "peerClient"> & Partial<Pick<LoadHost, "peerClient">>,
  executor: Executor = synthetic,
): LoadService {
  const c = config;
  return new LoadService(
    {
      selfId: self.id,
      selfHttp: self.http,
      capacity: c.capacity,
      ...(Object.keys(c.preferTags).length > 0 ? { preferTags: c.preferTags } : {}),
      policy: { forwardAbove: c.forwardAboveMs / 1000, margin: c.forwardAboveMs / 2000, maxBacklog: c.maxBacklogMs / 1000 },
      forwardTimeoutMs: c.forwardTimeoutMs,
      askTimeoutMs: Math.min(500, c.forwardTimeoutMs),
      windowTtlMs: 10 * 60_000,
      windowMaxEntries: 500_000,
      publishEveryMs: c.timing.probeIntervalMs,
      publishThresholdS: 0.1,
      executor,
      handlerTimeoutMs: c.handlerTimeoutMs,
    },
    { peerClient: httpPeerClient, ...host },
  );
}
