import type { Serve, Server } from "bun";
import type { JoinServer } from "../identity/join-server.ts";
import type { Security } from "../identity/security.ts";
import type { LoadService } from "../load/load-service.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import { parseChallenge } from "../wire/health.ts";
import { memberTableStats } from "../wire/sync-schema.ts";
import { loadRoutes } from "./handle-request.ts";
import { CORS, json, problem } from "./json.ts";
import { packetRoutes } from "./packet-routes.ts";
import { peerView } from "./peer-view.ts";
import { joinRoutes, syncRoute } from "./secure-routes.ts";

const MAX_SYNC_BODY = 4 * 1024 * 1024;

/** The parts of a node the API serves; the composition root builds them. */
export interface HttpParts {
  readonly security?: Security;
  /** The seed side of the join handshake (absent in open mode). */
  readonly joinServer?: JoinServer;
  readonly load?: LoadService;
  /** More routes mounted beside the API (the dashboard's). */
  readonly routes?: Serve.Routes<undefined, string>;
}

/** The node's HTTP API. Routes are small handlers over the node; errors are JSON. */
export function startHttpServer(node: EdgeNode, parts: HttpParts = {}): Server<undefined> {
  const { security, joinServer, load } = parts;
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
      security: security?.status() ?? { mode: "open" },
      ...(load ? { load: load.stats() } : {}),
    };
  };

  return Bun.serve({
    hostname: node.config.bind,
    port: node.config.port,
    maxRequestBodySize: MAX_SYNC_BODY,
    // Bundle the dashboard once, minified, without the dev-mode reload client.
    development: false,
    routes: {
      ...parts.routes,
      "/health": { GET: (req) => health(node, req) },
      "/ready": { GET: () => json(node.readiness, node.readiness.ready ? 200 : 503) },
      "/peers": { GET: () => json(peers(), 200, CORS) },
      "/peer": { GET: () => json(peers(), 200, CORS) },
      "/status": { GET: () => json(status()) },
      "/sync": { POST: syncRoute(node, security) },
      ...joinRoutes(joinServer),
      ...(load ? loadRoutes(load) : {}),
      ...(load ? packetRoutes(load) : {}),
    },
    fetch: (req) => problem(404, `no route for ${req.method} ${new URL(req.url).pathname}`),
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

function countByState(node: EdgeNode): Record<string, number> {
  const c: Record<string, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  for (const m of node.swim.members()) c[m.state] = (c[m.state] ?? 0) + 1;
  return c;
}
