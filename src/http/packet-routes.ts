/**
 * GET /packets/:id — where a packet is and what became of it (queued, running, done with its
 * result, failed with the error), from whichever node is asked. `?wait=N` or `Prefer: wait=N`
 * holds the answer up to N seconds for the packet to finish. With device authentication on, a
 * device reads only its own packets (signed, `?device_id=`), as it sent them; a node asking
 * another (one hop) carries node authentication. Otherwise anyone who knows an id may read it.
 *
 * POST /packets/replica — node to node: an owner hands packets to its backup and says which
 * are done (docs/LOAD.md, "Accepted means kept"). In a secured cluster it carries the node
 * authentication every node-only route takes (identity/node-auth.ts); the owner must be a
 * member, at its own address.
 */
import * as v from "valibot";
import { DEVICE_AUTH_HEADER, type DeviceAuth, STATUS_READ_BODY, scopedPacketId } from "../identity/device-auth.ts";
import { NODE_AUTH_HEADER } from "../identity/node-auth.ts";
import type { LoadService } from "../load/load-service.ts";
import { HOP_HEADER, REPLICA_PATH } from "../load/peer-client.ts";
import { MAX_PAYLOAD_BYTES, MAX_UNITS, MAX_WAIT_S, preferWait } from "../load/request-body.ts";
import { address, issueText, nodeId, PACKET_ID, packetId } from "../wire/fields.ts";
import { readBody } from "./body.ts";
import { type NodeRequests, nodeBody } from "./handle-request.ts";
import { json, problem } from "./json.ts";

/** A batch is at most this large (the owner keeps them near 2 MiB of payload). */
export const MAX_REPLICA_BODY = 4 * 1024 * 1024;

const heldPacket = v.object({
  id: packetId,
  units: v.pipe(v.number(), v.gtValue(0), v.maxValue(MAX_UNITS)),
  device_id: v.optional(packetId),
  payload: v.optional(
    v.pipe(
      v.unknown(),
      v.check((p) => p === undefined || (JSON.stringify(p)?.length ?? 0) <= MAX_PAYLOAD_BYTES, "payload too large"),
    ),
  ),
});
const replicaBatch = v.object({
  owner: nodeId,
  owner_http: address,
  boot: v.pipe(v.string(), v.regex(/^[0-9a-z]{1,16}$/)),
  keep: v.pipe(v.array(heldPacket), v.maxLength(4096)),
  done: v.pipe(v.array(packetId), v.maxLength(16_384)),
});

type BunRequest = Request & { params: Record<string, string> };

function waitOf(req: Request, url: URL): number {
  const q = url.searchParams.get("wait");
  const fromQuery = q !== null && /^\d+(\.\d+)?$/.test(q) ? Math.min(MAX_WAIT_S, Number(q)) : undefined;
  return fromQuery ?? preferWait(req.headers.get("prefer")) ?? 0;
}

type Routes = Record<string, { GET: (req: BunRequest) => Promise<Response> } | { POST: (req: Request) => Promise<Response> }>;

/**
 * Which packet a status read is for, or why it is refused: a device's own (scoped) id; a
 * node's one-hop read as asked.
 */
function readerOf(req: Request, url: URL, id: string, hop: number, node?: NodeRequests, devices?: DeviceAuth): { id: string } | Response {
  if (hop > 0) {
    if (!node) return { id };
    const c = node.auth.check(req.headers.get(NODE_AUTH_HEADER), "GET", node.self, url.pathname);
    return c.ok ? { id } : problem(c.status, c.reason);
  }
  if (!devices) return { id };
  const early = devices.precheck(req.headers.get(DEVICE_AUTH_HEADER));
  if (!early.ok) return problem(early.status, early.reason);
  const device = url.searchParams.get("device_id") ?? undefined;
  if (device !== undefined && !PACKET_ID.test(device)) return problem(400, "device_id must be 1-128 printable ASCII characters");
  const c = devices.check(early, id, device, STATUS_READ_BODY);
  return c.ok ? { id: scopedPacketId(device!, id) } : problem(c.status, c.reason);
}

/** `node`: a secured cluster's node authentication; `devices`: device authentication (both absent in open mode). */
export function packetRoutes(load: LoadService, node?: NodeRequests, devices?: DeviceAuth): Routes {
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
        const batch = v.safeParse(replicaBatch, raw);
        if (!batch.success) return problem(400, `invalid body: ${issueText(batch.issues)}`);
        const r = load.receiveReplicas(batch.output);
        return r.ok ? json({ kept: batch.output.keep.length }) : problem(r.status, r.error);
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
        const url = new URL(req.url);
        const reader = readerOf(req, url, id, hop, node, devices);
        if (reader instanceof Response) return reader;
        const s = await load.lookup.find(reader.id, waitOf(req, url), hop);
        // A device sees its own id, never the scoped one.
        return s ? json({ ...s, packet_id: id }) : json({ error: "no node knows this packet", packet_id: id }, 404);
      },
    },
  };
}
