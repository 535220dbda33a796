import type { Serve, Server } from "bun";
import type { DeviceAuth } from "../identity/device-auth.ts";
import type { JoinServer } from "../identity/join-server.ts";
import { NODE_AUTH_HEADER, type NodeAuth } from "../identity/node-auth.ts";
import type { Security } from "../identity/security.ts";
import { AUTH_HEADER } from "../identity/sync-auth.ts";
import type { LoadService } from "../load/load-service.ts";
import { mirrorCounter } from "../metrics/node-metrics.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import { splitAddress } from "../util/address.ts";
import type { Registry } from "../util/prom.ts";
import { parseChallenge } from "../wire/health.ts";
import { memberTableStats } from "../wire/sync-schema.ts";
import type { ApiAuth } from "./api-auth.ts";
import { discardUnread } from "./body.ts";
import { clientKey } from "./client-limits.ts";
import { Gate } from "./gate.ts";
import { loadRoutes } from "./handle-request.ts";
import { json, problem } from "./json.ts";
import { KEYS_LOCAL_PATH, KEYS_PATH, keyRoutes } from "./key-routes.ts";
import { EVIDENCE_ROUTE, memberRoutes, REACHABILITY_PATH, WHY_PATH } from "./member-routes.ts";
import { packetRoutes } from "./packet-routes.ts";
import { peerView } from "./peer-view.ts";
import { joinRoutes, MAX_SYNC_BODY, syncRoute } from "./secure-routes.ts";
import { tagRoutes } from "./tag-routes.ts";
import type { TlsFiles } from "./tls-files.ts";

/** The parts of a node the API serves; the composition root builds them. */
export interface HttpParts {
  readonly security?: Security;
  /** The seed side of the join handshake (absent in open mode). */
  readonly joinServer?: JoinServer;
  readonly load?: LoadService;
  /** More routes mounted beside the API (the dashboard's). */
  readonly routes?: Serve.Routes<undefined, string>;
  /** --device-key: devices sign their packets. */
  readonly devices?: DeviceAuth;
  /** --api-token: the operator's read routes need it. */
  readonly api?: ApiAuth;
  /** --tls-cert / --tls-key: https only. */
  readonly tls?: TlsFiles;
  /** Where the refusals before a route are counted (dsef_http_refused_total). */
  readonly registry?: Registry;
}

/** Read-only routes that --api-token protects (the page at / holds no data; /health and /ready are probes). */
export const OPERATOR_ROUTES = ["/peers", "/peer", "/status", "/metrics", "/events", "/stats", "/monitor", WHY_PATH, REACHABILITY_PATH, KEYS_PATH] as const;
/** Read by other nodes only (device ids, evidence, keys held): authenticated as a node in a secured cluster. */
export const NODE_ONLY_ROUTES = ["/stats", EVIDENCE_ROUTE, KEYS_LOCAL_PATH] as const;

/** The node's HTTP API. Routes are small handlers over the node, behind the gate; errors are JSON. */
export function startHttpServer(node: EdgeNode, parts: HttpParts = {}): Server<undefined> {
  const { security, joinServer, load, devices, api, tls } = parts;
  const selfId = node.identity.id;
  const peers = () => node.swim.members().map((m) => peerView(m, selfId));
  const status = () => {
    const me = node.swim.member(selfId)!;
    return {
      ...peerView(me, selfId),
      ready: node.readiness.ready,
      ...(node.readiness.ready ? {} : { not_ready: node.readiness.reason }),
      health_score: node.swim.healthScore,
      members: countByState(node),
      uptime_s: Math.round((Date.now() - node.startedAt) / 1000),
      protocol: node.swim.stats,
      transport: node.transport?.stats,
      member_table: memberTableStats,
      security: { ...(security?.status() ?? { mode: "open" }), devices: devices ? { authenticated: true, ...devices.stats } : { authenticated: false } },
      ...(load ? { load: load.stats() } : {}),
    };
  };

  // Node-only POSTs (forwards, asks, replica hand-offs) are authenticated as a node in a secured cluster.
  const nodeRequests = security?.nodeAuth && { auth: security.nodeAuth, self: node.swim.self.http };
  const gate = new Gate({
    exempt: security?.nodeAuth ? memberCall(node) : undefined,
    ratePerS: node.config.rateLimit,
    concurrency: node.config.clientConcurrency,
    corsFor: originPolicy(node),
    auth: { api, node: nodeRead(node, security?.nodeAuth), operator: OPERATOR_ROUTES, nodeOnly: NODE_ONLY_ROUTES, ticketed: ["/events"] },
  });
  if (parts.registry)
    mirrorCounter([parts.registry], "dsef_http_refused_total", "HTTP requests refused before their route, by reason.", () => ({ ...gate.refused }), "reason");

  return Bun.serve({
    hostname: node.config.bind,
    port: node.config.port,
    maxRequestBodySize: MAX_SYNC_BODY,
    ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
    // Bundle the dashboard once, minified, without the dev-mode reload client.
    development: false,
    routes: gate.routes({
      ...parts.routes,
      ...(api ? { "/login": { GET: (req: Request) => login(api, req, tls !== undefined) } } : {}),
      "/health": { GET: (req: Request) => health(node, req) },
      "/ready": { GET: () => json(node.readiness, node.readiness.ready ? 200 : 503) },
      "/peers": { GET: () => json(peers()) },
      "/peer": { GET: () => json(peers()) },
      "/status": { GET: () => json(status()) },
      "/sync": { POST: syncRoute(node, security) },
      ...joinRoutes(joinServer),
      ...(load ? loadRoutes(load, nodeRequests, devices) : {}),
      ...(load ? packetRoutes(load, nodeRequests, devices) : {}),
      ...tagRoutes({ tags: () => node.swim.self.tags ?? {}, retag: (tags) => node.driver.dispatch({ type: "retag", tags }) }, api),
      ...memberRoutes({ node, api, security, nodeRequests: nodeRequests || undefined }),
      ...keyRoutes({ node, api, security, nodeRequests: nodeRequests || undefined }),
    }) as Serve.Routes<undefined, string>,
    fetch: (req) => {
      discardUnread(req);
      return problem(404, `no route for ${req.method} ${new URL(req.url).pathname}`);
    },
    error: (err) => {
      node.log.error({ err: err.message }, "http handler failed");
      return problem(500, "internal error");
    },
  });
}

/**
 * Liveness for orchestrators (any answer is 200), and for probing members: the node's id, and with
 * ?challenge=NONCE its proof of life over that nonce, so an address answering as another identity
 * proves nothing about a member that used to live there.
 */
function health(node: EdgeNode, req: Request): Response {
  const raw = new URL(req.url).searchParams.get("challenge");
  if (raw === null) return json({ status: "ok", id: node.identity.id });
  const nonce = parseChallenge(raw);
  if (typeof nonce === "string") return problem(400, nonce);
  const { id, proof } = node.driver.healthAnswer(nonce);
  return json(proof ? { status: "ok", id, proof: Buffer.from(proof).toString("base64") } : { status: "ok", id });
}

/**
 * A call from a live member's address as a node makes it (node-authenticated, a signed /sync,
 * a /health probe): fair use is for devices and outsiders, and a busy node's forwards, backups'
 * hand-offs and probes must not be throttled as if they were one client (a refused probe would
 * even look like a failure). The route still checks the credential: a forged header from a
 * member's address gets 401.
 */
function memberCall(node: EdgeNode): (client: string, req: Request) => boolean {
  let hosts = new Set<string>();
  let at = Number.NEGATIVE_INFINITY;
  return (client, req) => {
    if (!req.headers.has(NODE_AUTH_HEADER) && !req.headers.has(AUTH_HEADER) && !req.url.includes("/health?challenge=")) return false;
    const now = performance.now();
    if (now - at > 1000) {
      at = now;
      hosts = new Set(
        node.swim
          .members()
          .flatMap((m) =>
            (m.state === "alive" || m.state === "suspect") && m.info.id !== node.identity.id ? [clientKey(splitAddress(m.info.http).host)] : [],
          ),
      );
    }
    return hosts.has(client);
  };
}

/** A GET from another node of a secured cluster, authenticated (undefined in open mode). */
function nodeRead(node: EdgeNode, auth: NodeAuth | undefined): ((req: Request) => boolean) | undefined {
  if (!auth) return undefined;
  return (req) => {
    const header = req.headers.get(NODE_AUTH_HEADER);
    return header !== null && auth.check(header, "GET", node.swim.self.http, new URL(req.url).pathname).ok;
  };
}

/** A browser presents the token once and gets a cookie; the token leaves the address bar. */
function login(api: ApiAuth, req: Request, secure: boolean): Response {
  const token = new URL(req.url).searchParams.get("token");
  if (token === null || !api.isToken(token)) return problem(401, "not this node's API token");
  return new Response(null, { status: 303, headers: { location: "/", "set-cookie": api.cookie(secure), "cache-control": "no-store" } });
}

/** The cluster's own nodes (a dashboard failing over to another node), and --cors-origin. */
function originPolicy(node: EdgeNode): (origin: string) => string | undefined {
  const configured = new Set(node.config.corsOrigins);
  if (configured.has("*")) return () => "*";
  return (origin) => {
    if (configured.has(origin)) return origin;
    const m = /^https?:\/\/(.+)$/.exec(origin);
    return m !== null && node.swim.members().some((x) => x.info.http === m[1]) ? origin : undefined;
  };
}

function countByState(node: EdgeNode): Record<string, number> {
  const c: Record<string, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  for (const m of node.swim.members()) c[m.state] = (c[m.state] ?? 0) + 1;
  return c;
}
