/**
 * GET /packets/:id — where a packet is and what became of it (queued, running, done with its
 * result, failed with the error), from whichever node is asked. `?wait=N` or `Prefer: wait=N`
 * holds the answer up to N seconds for the packet to finish.
 *
 * POST /packets/replica — node to node: an owner hands packets to its backup and says which
 * are done (docs/LOAD.md, "Accepted means kept"). In a secured cluster it carries the node
 * authentication every node-only route takes (identity/node-auth.ts); the owner must be a
 * member, at its own address.
 */
import { z } from "zod";
import type { LoadService } from "../load/load-service.ts";
import { HOP_HEADER, REPLICA_PATH } from "../load/peer-client.ts";
import { MAX_PAYLOAD_BYTES, MAX_UNITS, MAX_WAIT_S, preferWait } from "../load/request-body.ts";
import { address, nodeId, PACKET_ID, packetId } from "../wire/fields.ts";
import { readBody } from "./body.ts";
import { type NodeRequests, nodeBody } from "./handle-request.ts";
import { json, problem } from "./json.ts";

/** A batch is at most this large (the owner keeps them near 2 MiB of payload). */
export const MAX_REPLICA_BODY = 4 * 1024 * 1024;

const heldPacket = z.object({
  id: packetId,
  units: z.number().positive().max(MAX_UNITS),
  device_id: packetId.optional(),
  payload: z
    .unknown()
    .refine((p) => p === undefined || (JSON.stringify(p)?.length ?? 0) <= MAX_PAYLOAD_BYTES, "payload too large")
    .optional(),
});
const replicaBatch = z.object({
  owner: nodeId,
  owner_http: address,
  boot: z.string().regex(/^[0-9a-z]{1,16}$/),
  keep: z.array(heldPacket).max(4096),
  done: z.array(packetId).max(16_384),
});

type BunRequest = Request & { params: Record<string, string> };

function waitOf(req: Request, url: URL): number {
  const q = url.searchParams.get("wait");
  const fromQuery = q !== null && /^\d+(\.\d+)?$/.test(q) ? Math.min(MAX_WAIT_S, Number(q)) : undefined;
  return fromQuery ?? preferWait(req.headers.get("prefer")) ?? 0;
}

type Routes = Record<string, { GET: (req: BunRequest) => Promise<Response> } | { POST: (req: Request) => Promise<Response> }>;

/** `node`: a secured cluster's node authentication (absent in open mode). */
export function packetRoutes(load: LoadService, node?: NodeRequests): Routes {
  return {
    [REPLICA_PATH]: {
      POST: async (req) => {
        const body = node ? await nodeBody(req, REPLICA_PATH, MAX_REPLICA_BODY, node) : await readBody(req, MAX_REPLICA_BODY);
        if (!body.ok) return body.response;
        let raw: unknown;
        try {
          raw = JSON.parse(body.text);
        } catch {
          return problem(400, "body is not valid JSON");
        }
        const batch = replicaBatch.safeParse(raw);
        if (!batch.success) return problem(400, `invalid body: ${batch.error.issues[0]?.path.join(".") ?? ""} ${batch.error.issues[0]?.message ?? ""}`.trim());
        const r = load.receiveReplicas(batch.data);
        return r.ok ? json({ kept: batch.data.keep.length }) : problem(r.status, r.error);
      },
    },
    "/packets/:id": {
      GET: async (req) => {
        let id: string;
        try {
          id = decodeURIComponent(req.params.id ?? "");
        } catch {
          return problem(400, "packet id is not valid URL encoding");
        }
        if (!PACKET_ID.test(id)) return problem(400, "packet id must be 1-128 printable ASCII characters");
        const hop = Number.parseInt(req.headers.get(HOP_HEADER) ?? "0", 10) || 0;
        const s = await load.lookup.find(id, waitOf(req, new URL(req.url)), hop);
        return s ? json(s) : json({ error: "no node knows this packet", packet_id: id }, 404);
      },
    },
  };
}
