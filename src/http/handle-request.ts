/** HTTP routes of the load model: POST /handle_request (devices and forwarding peers) and POST /packets/ask (peers). */

import { DEVICE_AUTH_HEADER, type DeviceAuth, type SignedHeader, scopedPacketId } from "../identity/device-auth.ts";
import { NODE_AUTH_HEADER, type NodeAuth } from "../identity/node-auth.ts";
import type { LoadService } from "../load/load-service.ts";
import { HOP_HEADER } from "../load/peer-client.ts";
import { MAX_BODY_BYTES, parsePacketRequest, preferWait } from "../load/request-body.ts";
import { ADDRESS, PACKET_ID } from "../wire/shapes.ts";
import { readBody } from "./body.ts";
import { json, problem } from "./json.ts";

/** An ask is a packet id and an address. */
const MAX_ASK_BYTES = 1024;

type Routes = Record<string, { POST: (req: Request) => Promise<Response> }>;

/** A secured cluster's check on requests only nodes make; `self` is this node's "ip:port". */
export interface NodeRequests {
  readonly auth: NodeAuth;
  readonly self: string;
}

/**
 * Read the body of a node-only request: refused (401) on its headers before the body is read
 * when they cannot be right, and after, when the MAC over the body does not hold.
 */
export async function nodeBody(
  req: Request,
  path: string,
  max: number,
  node: NodeRequests,
): Promise<{ ok: true; text: string } | { ok: false; response: Response }> {
  const header = req.headers.get(NODE_AUTH_HEADER);
  const early = node.auth.precheck(header);
  if (!early.ok) return { ok: false, response: problem(early.status, early.reason) };
  const body = await readBody(req, max);
  if (!body.ok) return body;
  const check = node.auth.check(header, "POST", node.self, path, body.text);
  return check.ok ? body : { ok: false, response: problem(check.status, check.reason) };
}

export function loadRoutes(load: LoadService, node?: NodeRequests, devices?: DeviceAuth): Routes {
  return {
    "/handle_request": {
      POST: async (req: Request): Promise<Response> => {
        const t0 = performance.now();
        const hopHeader = req.headers.get(HOP_HEADER);
        // A forward (it carries a hop count) comes from a node: in a secured cluster it must say so.
        const fromDevice = hopHeader === null;
        let signed: SignedHeader | undefined;
        if (fromDevice && devices) {
          const early = devices.precheck(req.headers.get(DEVICE_AUTH_HEADER));
          if (!early.ok) return problem(early.status, early.reason);
          signed = early;
        }
        const body = !fromDevice && node ? await nodeBody(req, "/handle_request", MAX_BODY_BYTES, node) : await readBody(req, MAX_BODY_BYTES);
        if (!body.ok) {
          load.countBadRequest();
          return body.response;
        }
        const parsed = parsePacketRequest(body.text);
        if (!parsed.ok) {
          load.countBadRequest();
          return problem(parsed.status, parsed.error);
        }
        // A device's packet is known by an id scoped to that device; the device sees its own id.
        let ownId: string | undefined;
        if (signed && devices) {
          const v = parsed.value;
          const check = devices.check(signed, v.packet_id, v.device_id, body.text);
          if (!check.ok) return problem(check.status, check.reason);
          ownId = v.packet_id!;
          v.packet_id = scopedPacketId(v.device_id!, ownId);
        }
        const hop = Math.min(8, Number.parseInt(hopHeader ?? "0", 10) || 0);
        const pending = load.handle(parsed.value, Math.max(0, hop));
        let r = pending instanceof Promise ? await pending : pending;
        const wait = parsed.value.wait ?? preferWait(req.headers.get("prefer"));
        if (wait !== undefined && wait > 0) r = await load.lookup.withOutcome(r, wait);
        load.answered(r, (performance.now() - t0) / 1000, parsed.value.device_id);
        const out = ownId !== undefined && "packet_id" in r.body ? { ...r.body, packet_id: ownId } : r.body;
        // Response.json without options is twice as fast; this is the hot path.
        return r.status === 200 && !r.headers ? Response.json(out) : json(out, r.status, r.headers);
      },
    },
    "/packets/ask": {
      POST: async (req: Request): Promise<Response> => {
        const text = node ? await nodeBody(req, "/packets/ask", MAX_ASK_BYTES, node) : await readBody(req, MAX_ASK_BYTES);
        if (!text.ok) return text.response;
        let body: { packet_id?: unknown; asker?: unknown };
        try {
          body = JSON.parse(text.text);
        } catch {
          return problem(400, "body is not valid JSON");
        }
        if (typeof body?.packet_id !== "string" || !PACKET_ID.test(body.packet_id)) return problem(400, "packet_id must be 1-128 printable ASCII characters");
        if (typeof body.asker !== "string" || !ADDRESS.test(body.asker)) return problem(400, 'asker must be "host:port"');
        return json(load.answerAsk(body.packet_id, body.asker));
      },
    },
  };
}
