import { finishSchema, helloSchema, JOIN_HEADER, Refusal } from "../identity/handshake.ts";
import type { JoinServer } from "../identity/join-server.ts";
import type { Security } from "../identity/security.ts";
import { AUTH_HEADER, KEYS_HEADER } from "../identity/sync-auth.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import { mismatch } from "../wire/protocol.ts";
import { protocolField, snapshotToJson, syncRequestSchema } from "../wire/sync-schema.ts";
import { readBody } from "./body.ts";
import { json, parseJson, problem } from "./json.ts";

/** Handshake bodies are small: a key, a nonce, a certificate; `finish` carries the joiner's state. */
const MAX_HELLO_BODY = 4 * 1024;
export const MAX_SYNC_BODY = 4 * 1024 * 1024;

type Handler = (req: Request, server: { requestIP(r: Request): { address: string } | null }) => Response | Promise<Response>;

const peerOf = (req: Request, server: Parameters<Handler>[1]): string => server.requestIP(req)?.address ?? "?";

/**
 * POST /sync. In open mode it is what it always was. With a credential, only a caller holding
 * an accepted cluster key gets in (checked on the headers before the body is read), and the
 * answer is authenticated back to it; every claim in the body is verified at the node's edge
 * before it reaches the membership core.
 */
export function syncRoute(node: EdgeNode, security?: Security): Handler {
  const auth = security?.syncAuth;
  if (!auth) {
    return async (req) => {
      const text = await readBody(req, MAX_SYNC_BODY);
      if (!text.ok) return text.response;
      const body = parseJson(text.text, syncRequestSchema);
      if (body instanceof Response) return body;
      const versions = mismatch(body.protocol);
      if (versions) return problem(409, versions);
      return json({ members: node.serveSync(body.members, body.join).map(snapshotToJson), ...protocolField() });
    };
  }
  return async (req, server) => {
    const refused = (status: number, reason: string) => {
      node.log.warn({ from: peerOf(req, server), status, reason }, "refused a sync");
      return problem(status, reason);
    };
    const early = auth.precheck(req.headers.get(AUTH_HEADER));
    if (early) return refused(early.status, early.reason);
    const text = await readBody(req, MAX_SYNC_BODY);
    if (!text.ok) return text.response;
    const check = auth.check(req.headers.get(AUTH_HEADER), text.text, req.headers.get(KEYS_HEADER));
    if (!check.ok) return refused(check.status, check.reason);
    const body = parseJson(text.text, syncRequestSchema);
    if (body instanceof Response) return body;
    const versions = mismatch(body.protocol);
    if (versions) return refused(409, versions);
    const out = JSON.stringify({ members: node.serveSync(body.members, body.join).map(snapshotToJson), ...protocolField() });
    return new Response(out, { headers: { "content-type": "application/json", ...auth.responseHeaders(check.key, check.nonce, out) } });
  };
}

/** POST /join/hello and /join/finish: the admission handshake (absent in open mode). */
export function joinRoutes(js?: JoinServer): Record<string, { POST: Handler }> {
  if (!js) return {};
  const refusal = (e: unknown): Response => {
    if (e instanceof Refusal) return problem(e.status, e.message);
    throw e;
  };
  return {
    "/join/hello": {
      POST: async (req, server) => {
        const text = await readBody(req, MAX_HELLO_BODY);
        if (!text.ok) return text.response;
        const hello = parseJson(text.text, helloSchema);
        if (hello instanceof Response) return hello;
        try {
          return json(js.hello(hello, peerOf(req, server)));
        } catch (e) {
          return refusal(e);
        }
      },
    },
    "/join/finish": {
      POST: async (req, server) => {
        const early = js.precheck(req.headers.get(JOIN_HEADER), peerOf(req, server));
        if (early) return refusal(early);
        const text = await readBody(req, MAX_SYNC_BODY);
        if (!text.ok) return text.response;
        const finish = parseJson(text.text, finishSchema);
        if (finish instanceof Response) return finish;
        try {
          return json(await js.finish(finish, peerOf(req, server)));
        } catch (e) {
          return refusal(e);
        }
      },
    },
  };
}
