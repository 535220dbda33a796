/**
 * The cluster keys, changed for the whole cluster through one node (`dsef keys`; docs/SECURITY.md,
 * "Rotating the shared secret"):
 *
 *   GET  /keys              per key: how many members hold it and send with it, who lacks it
 *   POST /keys/install      {"key": SECRET}: every member accepts it too
 *   POST /keys/use          {"kid": ID}: every member sends with it (refused unless all hold it)
 *   POST /keys/remove       {"kid": ID}: no member accepts it (refused while any sends with it)
 *   GET  /keys/local        node to node: the keys this node holds
 *   POST /keys/local        node to node: {"op": "install"|"use"|"remove", ...} applied here
 *
 * GET /keys is an operator read (the API token when one is set). The writes are an operator's
 * (operator-write.ts: the bearer token, else the node's own host only); /keys/local is the
 * cluster's own, node-authenticated, and with --api-token a change there also needs the
 * operator's order relayed by the node asked (a MAC under the token, api-auth.ts), so a member
 * holding the cluster key but not the token cannot switch another member to a key of its own. A key travels from the CLI to the node in the request body
 * (use TLS or the node's own host) and from node to node sealed under the current cluster key.
 */
import type { Server } from "bun";
import * as v from "valibot";
import { Keyring, keyFromSecret, MIN_SECRET_LENGTH } from "../identity/keyring.ts";
import { isDemoKey } from "../identity/secret-files.ts";
import type { Security } from "../identity/security.ts";
import { isLive } from "../membership/member-table.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import {
  applyPeerOp,
  installKey,
  KEYS_LOCAL_PATH,
  type KeyCluster,
  listKeys,
  localKeys,
  peerOpSchema,
  type RolloutResult,
  removeKey,
  useKey,
} from "../runtime/key-rollout.ts";
import { hex } from "../wire/fields.ts";
import { type ApiAuth, ORDER_HEADER } from "./api-auth.ts";
import { readBody } from "./body.ts";
import { type NodeRequests, nodeBody } from "./handle-request.ts";
import { json, parseJson, problem } from "./json.ts";
import { operatorWrite } from "./operator-write.ts";

export const KEYS_PATH = "/keys";
export { KEYS_LOCAL_PATH };

const MAX_BODY = 2048;

const installBody = v.strictObject({ key: v.pipe(v.string(), v.minLength(MIN_SECRET_LENGTH), v.maxLength(1024)) });
const kidBody = v.strictObject({ kid: hex(8) });

export interface KeyRouteParts {
  readonly node: EdgeNode;
  readonly security?: Security;
  readonly api?: ApiAuth;
  readonly nodeRequests?: NodeRequests;
}

type Handler = (req: Request, server: Server<undefined>) => Promise<Response> | Response;

export function keyRoutes(parts: KeyRouteParts): Record<string, { GET?: Handler; POST?: Handler }> {
  const { node, security } = parts;
  const self = node.swim.self;
  const cluster: KeyCluster = {
    self: { id: self.id, name: self.name, http: self.http },
    peers: () =>
      node
        .members()
        .filter((m) => isLive(m.state) && m.info.id !== self.id)
        .map((m) => ({ id: m.info.id, name: m.info.name, http: m.info.http })),
    keyring: security?.creds.keyring ?? new Keyring(),
    store: security?.keys,
    mode: security?.mode ?? "open",
    order: parts.api && ((target, body) => ({ [ORDER_HEADER]: parts.api!.order(target, body) })),
  };
  // One change at a time on this node: each asks every member, and they must not interleave.
  let busy = false;
  const write = (what: string, run: (text: string) => Promise<RolloutResult | Response>): Handler =>
    operatorWrite(parts.api, async (req) => {
      const text = await readBody(req, MAX_BODY);
      if (!text.ok) return text.response;
      if (busy) return problem(409, "another key change is in progress on this node; retry when it is done");
      busy = true;
      try {
        const r = await run(text.text);
        if (r instanceof Response) return r;
        node.log.warn(
          { complete: r.complete, refused: r.error, keys: r.report.keys.map((k) => `${k.kid}:${k.held_by}/${k.sending}`) },
          `cluster keys: ${what}`,
        );
        return answer(r);
      } finally {
        busy = false;
      }
    });

  // Lists asked meanwhile share the one in flight: each asks every member.
  let listing: Promise<RolloutResult> | undefined;
  return {
    [KEYS_PATH]: {
      GET: async () => {
        listing ??= listKeys(cluster).finally(() => {
          listing = undefined;
        });
        return answer(await listing);
      },
    },
    [`${KEYS_PATH}/install`]: {
      POST: write("install asked by an operator", async (text) => {
        const body = parseJson(text, installBody);
        if (body instanceof Response) return body;
        if (isDemoKey(body.key) && !node.config.insecureDemoKey) return problem(400, "that is the published demo key: anyone can join with it");
        return installKey(cluster, keyFromSecret(body.key));
      }),
    },
    [`${KEYS_PATH}/use`]: {
      POST: write("use asked by an operator", async (text) => {
        const body = parseJson(text, kidBody);
        return body instanceof Response ? body : useKey(cluster, body.kid);
      }),
    },
    [`${KEYS_PATH}/remove`]: {
      POST: write("remove asked by an operator", async (text) => {
        const body = parseJson(text, kidBody);
        return body instanceof Response ? body : removeKey(cluster, body.kid);
      }),
    },
    [KEYS_LOCAL_PATH]: {
      GET: () => json(localKeys(cluster)),
      POST: async (req) => {
        const nr = parts.nodeRequests;
        if (!nr) return problem(409, "this cluster runs in open mode: it has no cluster keys");
        const text = await nodeBody(req, KEYS_LOCAL_PATH, MAX_BODY, nr);
        if (!text.ok) return text.response;
        // With a token, a change needs the operator's order too: the cluster key alone (an insider) is not enough.
        if (parts.api && !parts.api.isOrder(req.headers.get(ORDER_HEADER), nr.self, text.text))
          return problem(403, "a key change needs the operator's order (relayed by the node the operator asked): the cluster key alone is not enough");
        const op = parseJson(text.text, peerOpSchema);
        if (op instanceof Response) return op;
        const r = applyPeerOp(cluster, op);
        if (!r.ok) return problem(r.status, r.reason);
        node.log.info({ op: op.op, kid: op.op === "install" ? undefined : op.kid, ...r.view }, "cluster keys changed at a member's request");
        return json(r.view);
      },
    },
  };
}

/** The report, with the refusal's reason when there is one. */
function answer(r: RolloutResult): Response {
  return json({ complete: r.complete, ...(r.error ? { error: r.error } : {}), ...r.report }, r.status);
}
