/** Build the node's LoadService from its config and its EdgeNode. */
import type { NodeConfig } from "../config/node-config.ts";
import type { Security } from "../identity/security.ts";
import { AUTH_HEADER } from "../identity/sync-auth.ts";
import type { Logger } from "../log/logger.ts";
import { metricsFor, requestOutcome } from "../metrics/node-metrics.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import { type Executor, synthetic } from "./executor.ts";
import { LoadService } from "./load-service.ts";
import { peerClient } from "./peer-client.ts";
import type { PeerAuth } from "./peer-protocol.ts";
import { upstreamExecutor } from "./upstream.ts";
import { WorkerPool } from "./worker-pool.ts";

/** What runs packets: --handler (Workers), --upstream (a local service) or the synthetic handler. */
export async function executorFor(c: NodeConfig, log: Logger): Promise<Executor> {
  if (c.handler) return WorkerPool.start(c.handler, c.workers, c.handlerTimeoutMs, log);
  if (c.upstream) return upstreamExecutor(c.upstream, c.workers, c.handlerTimeoutMs);
  return synthetic;
}

/**
 * Node-to-node load calls in secured modes: the cluster's sync MAC (identity/sync-auth.ts:
 * a cluster key, a timestamp and a single-use nonce) over the route's path and the body, so a
 * signed request for one route is no use on another. Open mode: none.
 */
export function peerAuthOf(security?: Security): PeerAuth | undefined {
  const auth = security?.syncAuth;
  if (!auth) return undefined;
  return {
    sign: (path, body) => {
      try {
        return auth.sign(`${path}\n${body}`).headers;
      } catch {
        return {}; // no cluster key yet: the peer refuses, and the packet goes elsewhere
      }
    },
    check: (path, headers, body) => {
      const r = auth.check(headers.get(AUTH_HEADER), `${path}\n${body}`, null);
      return r.ok ? { ok: true } : { ok: false, status: r.status, reason: r.reason };
    },
  };
}

/** Throws (with the handler's own message) when --handler cannot be loaded. */
export async function loadServiceFor(node: EdgeNode, security?: Security): Promise<LoadService> {
  const c = node.config;
  const metrics = metricsFor(node);
  const selfHttp = node.swim.self.http;
  const executor = await executorFor(c, node.log);
  const auth = peerAuthOf(security);
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
      executor,
      handlerTimeoutMs: c.handlerTimeoutMs,
    },
    {
      members: () => node.swim.members(),
      publish: (backlog) => void node.dispatch({ type: "load", backlog }),
      peerClient: peerClient(auth),
      peerAuth: auth,
      log: node.log,
      answered: (status, body, seconds, deviceId) => {
        const outcome = requestOutcome(status, body, selfHttp);
        if (outcome) metrics.recordRequest(outcome, { seconds, deviceId, to: outcome === "forwarded" ? String(body.handled_by) : undefined });
      },
    },
  );
  if (executor !== synthetic) node.log.info({ handler: executor.name, slots: executor.slots, timeoutMs: c.handlerTimeoutMs }, "packets run by a user handler");
  // A dead node's packets that we keep run here; our own copies follow the ring.
  node.onEvent((e) => service.memberChanged(e));
  // The queue knows the backlog exactly; the gossiped figure lags.
  metrics.useBacklog(() => service.backlog());
  return service;
}
