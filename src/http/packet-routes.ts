/**
 * GET /packets/:id — where a packet is and what became of it (queued, running, done with its
 * result, failed with the error), from whichever node is asked. `?wait=N` or `Prefer: wait=N`
 * holds the answer up to N seconds for the packet to finish.
 */
import type { LoadService } from "../load/load-service.ts";
import { HOP_HEADER } from "../load/peer-client.ts";
import { MAX_WAIT_S, preferWait } from "../load/request-body.ts";
import { PACKET_ID } from "../wire/fields.ts";
import { json, problem } from "./json.ts";

type BunRequest = Request & { params: Record<string, string> };

function waitOf(req: Request, url: URL): number {
  const q = url.searchParams.get("wait");
  const fromQuery = q !== null && /^\d+(\.\d+)?$/.test(q) ? Math.min(MAX_WAIT_S, Number(q)) : undefined;
  return fromQuery ?? preferWait(req.headers.get("prefer")) ?? 0;
}

export function packetRoutes(load: LoadService): Record<string, { GET: (req: BunRequest) => Promise<Response> }> {
  return {
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
