import type { z } from "zod";
import { finishSchema, helloSchema, Refusal } from "../identity/handshake.ts";
import type { JoinServer } from "../identity/join-server.ts";
import type { Security } from "../identity/security.ts";
import { AUTH_HEADER, KEYS_HEADER } from "../identity/sync-auth.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import { snapshotToJson, syncRequestSchema } from "../wire/sync-schema.ts";
import { json, problem, readJson } from "./json.ts";

/** Handshake bodies are small: a key, a nonce, a certificate; `finish` carries the joiner's state. */
const MAX_HELLO_BODY = 4 * 1024;
export const MAX_SYNC_BODY = 4 * 1024 * 1024;

type Handler = (req: Request, server: { requestIP(r: Request): { address: string } | null }) => Response | Promise<Response>;

const peerOf = (req: Request, server: Parameters<Handler>[1]): string => server.requestIP(req)?.address ?? "?";

async function readText(req: Request, maxBytes: number): Promise<string | Response> {
  if (Number(req.headers.get("content-length") ?? "0") > maxBytes) return problem(413, `body larger than ${maxBytes} bytes`);
  let text: string;
  try {
    text = await req.text();
  } catch {
    return problem(400, "could not read request body");
  }
  return Buffer.byteLength(text) > maxBytes ? problem(413, `body larger than ${maxBytes} bytes`) : text;
}

function parse<S extends z.ZodType>(text: string, schema: S): z.infer<S> | Response {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return problem(400, "body is not valid JSON");
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return problem(400, `invalid body: ${issue?.path.length ? `${issue.path.join(".")}: ` : ""}${issue?.message ?? "schema mismatch"}`);
}

/**
 * POST /sync. In open mode it is what it always was. With a credential, only a caller holding
 * an accepted cluster key gets in, and the answer is authenticated back to it; every claim in
 * the body is verified at the node's edge before it reaches the membership core.
 */
export function syncRoute(node: EdgeNode, security?: Security): Handler {
  const auth = security?.syncAuth;
  if (!auth) {
    return async (req) => {
      const body = await readJson(req, syncRequestSchema, MAX_SYNC_BODY);
      if (!body.ok) return body.response;
      return json({ members: node.serveSync(body.value.members, body.value.join).map(snapshotToJson) });
    };
  }
  return async (req, server) => {
    const text = await readText(req, MAX_SYNC_BODY);
    if (typeof text !== "string") return text;
    const check = auth.check(req.headers.get(AUTH_HEADER), text, req.headers.get(KEYS_HEADER));
    if (!check.ok) {
      node.log.warn({ from: peerOf(req, server), status: check.status, reason: check.reason }, "refused a sync");
      return problem(check.status, check.reason);
    }
    const body = parse(text, syncRequestSchema);
    if (body instanceof Response) return body;
    const out = JSON.stringify({ members: node.serveSync(body.members, body.join).map(snapshotToJson) });
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
        const text = await readText(req, MAX_HELLO_BODY);
        if (typeof text !== "string") return text;
        const hello = parse(text, helloSchema);
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
        const text = await readText(req, MAX_SYNC_BODY);
        if (typeof text !== "string") return text;
        const finish = parse(text, finishSchema);
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
