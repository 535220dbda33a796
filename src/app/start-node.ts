/**
 * The composition root: builds a running edge node from its parts and wires them together by
 * passing each what it needs (no part reaches into another or is patched after construction).
 *
 *   security (identity)  → the node driver's guard, claims and exchange; the join server
 *   node (runtime)       → the member table the load service, metrics and dashboard read
 *   load                 → the request routes; its answers feed the metrics
 *   metrics, dashboard   → routes beside the API
 *   outsider defences    → device auth, API token, TLS: the gate and routes of the API
 *   hooks                → membership events out to handlers and webhooks (signed with the cluster key)
 */
import type { Server } from "bun";
import type { NodeConfig } from "../config/node-config.ts";
import { dashboardRoutes } from "../dashboard/routes.ts";
import { EventHooks } from "../hooks/event-hooks.ts";
import { registerHookMetrics } from "../hooks/hook-metrics.ts";
import { currentWebhookKey } from "../hooks/signature.ts";
import { ApiAuth, apiTokenOf } from "../http/api-auth.ts";
import { startHttpServer } from "../http/server.ts";
import type { TlsFiles } from "../http/tls-files.ts";
import type { DeviceAuth } from "../identity/device-auth.ts";
import type { NodeIdentity } from "../identity/node-identity.ts";
import type { Security } from "../identity/security.ts";
import { executorFor, loadServiceFor } from "../load/from-config.ts";
import type { LoadService } from "../load/load-service.ts";
import { httpPeerClient } from "../load/peer-client.ts";
import { PeerTrust } from "../load/peer-trust.ts";
import type { LogTap } from "../log/log-tap.ts";
import type { Logger } from "../log/logger.ts";
import { NodeMetrics, requestOutcome } from "../metrics/node-metrics.ts";
import { peerTrustMetrics } from "../metrics/peer-trust-metrics.ts";
import { EdgeNode } from "../runtime/edge-node.ts";
import { runJoin } from "../runtime/join.ts";
import { rememberPeers } from "../runtime/peer-memory.ts";

export interface RunningNode {
  readonly node: EdgeNode;
  readonly load: LoadService;
  readonly server: Server<undefined>;
  /** Leave the cluster gracefully and close everything. */
  stop(): Promise<void>;
}

/** --handler could not be loaded: the operator's mistake (exit 2), not a failure to listen. */
export class HandlerError extends Error {}

/** What the outsider defences add (checked at start by the caller). */
export interface Hardening {
  readonly devices?: DeviceAuth;
  readonly tls?: TlsFiles;
}

/** What operators watch the node through besides its routes. */
export interface Watching {
  /** The log's tap, for `dsef monitor` (GET /monitor). */
  readonly logTap?: LogTap;
}

/** Build the node, listen (HTTP first: a listening port tells others we have not crashed), join. */
export async function startNode(
  config: NodeConfig,
  identity: NodeIdentity,
  security: Security,
  log: Logger,
  hardening: Hardening = {},
  watching: Watching = {},
): Promise<RunningNode> {
  const executor = await executorFor(config, log).catch((e: Error) => {
    throw new HandlerError(e.message);
  });
  const node = new EdgeNode({ config, identity, log, guard: security.guard, claims: security.claims, exchange: security.exchange });
  const self = node.swim.self;
  // The queue knows the backlog exactly; the gossiped figure lags. (Read at scrape time, once `load` exists.)
  const metrics = new NodeMetrics(node, () => load.backlog());
  // Peers' load claims within reason: capacity capped, forward targets audited (load/peer-trust.ts).
  const trust = new PeerTrust({ selfHttp: self.http, maxCapacity: config.maxPeerCapacity, askTimeoutMs: Math.min(500, config.forwardTimeoutMs), log });
  peerTrustMetrics(metrics.registry, trust);
  const load = loadServiceFor(
    config,
    self,
    {
      members: () => trust.view(node.members(), self.id),
      peerClient: trust.client(httpPeerClient),
      publish: (backlog) => void node.dispatch({ type: "load", backlog }),
      log,
      answered: (status, body, seconds, deviceId) => {
        const outcome = requestOutcome(status, body, self.http);
        if (outcome) metrics.recordRequest(outcome, { seconds, deviceId, to: outcome === "forwarded" ? String(body.handled_by) : undefined });
      },
    },
    executor,
  );
  if (executor.kind === "async")
    log.info({ handler: executor.name, slots: executor.slots, timeoutMs: config.handlerTimeoutMs }, "packets run by a user handler");
  // A dead node's packets that we keep run here; our own copies follow the ring.
  node.onEvent((e) => load.memberChanged(e));
  const { keyring, secret } = security.creds;
  const hooks = new EventHooks(config, {
    self: { id: self.id, name: self.name, address: self.http },
    log,
    // Signed only under a secret the operator holds (in CA mode the keys are the cluster's own).
    signingKey: currentWebhookKey(() => (secret ? keyring.sendKey : undefined)),
  });
  if (hooks.size > 0) {
    node.onEvent((e) => hooks.push(e));
    registerHookMetrics(metrics.registry, hooks);
    log.info({ handlers: config.eventHandlers.length, webhooks: config.webhooks.length, signed: secret }, "event hooks on");
  }
  const token = apiTokenOf(config);
  const api = token ? new ApiAuth(token) : undefined;
  const server = startHttpServer(node, {
    security,
    joinServer: security.joinServerFor(node),
    load,
    routes: dashboardRoutes(node, metrics, api, watching.logTap),
    devices: hardening.devices,
    api,
    tls: hardening.tls,
    registry: metrics.registry,
  });
  try {
    await node.start();
  } catch (e) {
    server.stop(true);
    await load.close();
    throw e;
  }
  load.start();
  const joining = new AbortController();
  void runJoin(node, joining.signal);
  const forget = rememberPeers(node);
  return {
    node,
    load,
    server,
    async stop() {
      joining.abort();
      hooks.close();
      load.stop();
      await node.leave();
      await load.close();
      forget();
      server.stop(true);
    },
  };
}
