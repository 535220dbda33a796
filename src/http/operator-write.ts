/**
 * Routes that change a node (`dsef tags`): an operator's call. With --api-token, the bearer
 * token (not the dashboard's cookie: a page on another site must not be able to ride it);
 * without one, only callers on the node's own host, so an open node is not relabelled from
 * the network.
 */
import type { Server } from "bun";
import { type ApiAuth, LOGIN_HELP } from "./api-auth.ts";
import { problem } from "./json.ts";

type Handler = (req: Request, server: Server<undefined>) => Response | Promise<Response>;

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

export function operatorWrite(api: ApiAuth | undefined, handler: Handler): Handler {
  return (req, server) => {
    if (api) {
      const authz = req.headers.get("authorization");
      if (authz?.startsWith("Bearer ") && api.isToken(authz.slice(7).trim())) return handler(req, server);
      return problem(401, LOGIN_HELP, { "www-authenticate": 'Bearer realm="dsef"' });
    }
    if (LOOPBACK.test(server.requestIP(req)?.address ?? "")) return handler(req, server);
    return problem(403, "this route changes the node: call it on the node's own host, or start the node with --api-token and send it");
  };
}
