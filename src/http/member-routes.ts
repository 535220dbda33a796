/**
 * The operator's membership routes (docs/SECURITY.md, "Force-leave"; README, "The dsef command"):
 *
 *   GET  /why?member=NAME|ID      the member's story from this node and every live member (dsef why)
 *   GET  /members/:id/evidence    this node's evidence about one member (node to node)
 *   GET  /reachability            this node pings and challenges every member now (dsef reachability)
 *   POST /force-leave             {member, prune?}: mark a dead member left everywhere (dsef force-leave)
 *   POST /members/forget          {id, prune}: a peer's force-leave, applied here (node to node)
 *
 * The GETs are read routes behind the gate (the API token, or a node's authentication for the
 * node-only one). The POSTs change membership, so each checks its caller itself: /force-leave
 * needs the API token (in an open cluster without one, anyone, as every route there), and
 * /members/forget a node's MAC over the body in a secured cluster.
 */
import * as v from "valibot";
import type { Security, SecurityMode } from "../identity/security.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import { localReport, peerReports } from "../runtime/evidence-report.ts";
import { FORGET_PATH, forceLeaveEverywhere, forceLeaveHere } from "../runtime/force-leave.ts";
import { lookupMember } from "../runtime/member-lookup.ts";
import { type ReachRow, reachability } from "../runtime/reachability.ts";
import { NODE_ID, nodeId } from "../wire/fields.ts";
import type { ApiAuth } from "./api-auth.ts";
import { readBody } from "./body.ts";
import { type NodeRequests, nodeBody } from "./handle-request.ts";
import { json, parseJson, problem } from "./json.ts";

export const WHY_PATH = "/why";
export const EVIDENCE_ROUTE = "/members/:id/evidence";
export const REACHABILITY_PATH = "/reachability";
export const FORCE_LEAVE_PATH = "/force-leave";

/** How long a peer has to answer a fan-out. */
const PEER_TIMEOUT_MS = 2000;
/** `dsef why` runs at once (each asks every member): more wait their turn as 429s. */
const MAX_WHY_RUNS = 4;
const MAX_BODY = 1024;

const forceLeaveBody = v.strictObject({ member: v.pipe(v.string(), v.minLength(1), v.maxLength(128)), prune: v.optional(v.boolean()) });
const forgetBody = v.strictObject({ id: nodeId, prune: v.boolean() });

export interface MemberRouteParts {
  readonly node: EdgeNode;
  readonly api?: ApiAuth;
  readonly security?: Security;
  /** A secured cluster's node authentication (absent in open mode). */
  readonly nodeRequests?: NodeRequests;
}

type Handler = (req: Request & { params?: Record<string, string> }) => Promise<Response> | Response;

export function memberRoutes(parts: MemberRouteParts): Record<string, { GET: Handler } | { POST: Handler }> {
  const { node, api } = parts;
  // What this node shows its peers where node authentication does not reach (an open cluster with a token).
  const peerHeaders: Record<string, string> = api ? { authorization: api.bearer } : {};
  let whyRuns = 0;
  let reaching: Promise<ReachRow[]> | undefined;

  return {
    [WHY_PATH]: {
      GET: async (req) => {
        const query = new URL(req.url).searchParams.get("member");
        if (!query || query.length > 128) return problem(400, "give ?member=NAME or an id (at most 128 characters)");
        const found = lookupMember(query, node.members(), node.evidence);
        if ("error" in found) return problem(found.status, found.error);
        if (whyRuns >= MAX_WHY_RUNS) return problem(429, "other questions are being answered; retry in a second", { "retry-after": "1" });
        whyRuns++;
        try {
          const { reports, unanswered, live } = await peerReports(node, found.id, PEER_TIMEOUT_MS, peerHeaders);
          const asked = reports.length + unanswered.length;
          return json({ member: found.id, asked_by: node.swim.self.id, asked, live, reports: [localReport(node, found.id), ...reports], unanswered });
        } finally {
          whyRuns--;
        }
      },
    },
    [EVIDENCE_ROUTE]: {
      GET: (req) => {
        const id = req.params?.id ?? "";
        return NODE_ID.test(id) ? json(localReport(node, id)) : problem(400, "not a node id");
      },
    },
    [REACHABILITY_PATH]: {
      GET: async () => {
        // One run at a time: callers meanwhile share its answer (a run costs two probes a member).
        reaching ??= reachability(node, 1000).finally(() => {
          reaching = undefined;
        });
        return json({ from: node.swim.self.id, members: await reaching });
      },
    },
    [FORCE_LEAVE_PATH]: {
      POST: async (req) => {
        const denied = forceLeaveAuth(req, parts.api, parts.security?.mode ?? "open");
        if (denied) return denied;
        const text = await readBody(req, MAX_BODY);
        if (!text.ok) return text.response;
        const body = parseJson(text.text, forceLeaveBody);
        if (body instanceof Response) return body;
        const found = lookupMember(body.member, node.members(), node.evidence);
        if ("error" in found) return problem(found.status, found.error);
        const name = node.member(found.id)?.info.name ?? node.evidence.of(found.id)?.name ?? found.id;
        const prune = body.prune === true;
        const here = await forceLeaveHere(node, found.id, prune);
        if (!here.ok) return problem(here.status, `${name}: ${here.reason}`);
        node.log.warn({ member: found.id, name, prune, outcome: here.outcome }, "force-leave by an operator");
        const peers = await forceLeaveEverywhere(node, found.id, prune, PEER_TIMEOUT_MS, peerHeaders);
        return json({ member: found.id, name, prune, here: here.outcome, peers });
      },
    },
    [FORGET_PATH]: {
      POST: async (req) => {
        const nr = parts.nodeRequests;
        if (!nr && api && !api.allows(req)) return problem(401, "node authentication required: this route is for the cluster's nodes");
        const text = nr ? await nodeBody(req, FORGET_PATH, MAX_BODY, nr) : await readBody(req, MAX_BODY);
        if (!text.ok) return text.response;
        const body = parseJson(text.text, forgetBody);
        if (body instanceof Response) return body;
        const here = await forceLeaveHere(node, body.id, body.prune);
        if (!here.ok) return problem(here.status, here.reason);
        if (here.outcome !== "not known here") node.log.warn({ member: body.id, prune: body.prune, outcome: here.outcome }, "force-leave from a peer");
        return json({ outcome: here.outcome });
      },
    },
  };
}

/** /force-leave: the API token; with none, only an open cluster lets anyone (as it lets anyone join). Undefined: go ahead. */
export function forceLeaveAuth(req: Request, api: ApiAuth | undefined, mode: SecurityMode): Response | undefined {
  if (api)
    return api.allows(req)
      ? undefined
      : problem(401, "force-leave needs this node's API token: set DSEF_API_TOKEN", { "www-authenticate": 'Bearer realm="dsef"' });
  if (mode === "open") return undefined;
  return problem(403, "force-leave needs an operator credential: start the nodes with --api-token, and give the CLI DSEF_API_TOKEN");
}
