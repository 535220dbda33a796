/** HTTP routes of the load model: POST /handle_request (devices and forwarding peers) and POST /packets/ask (peers). */
import type { LoadService } from "../load/load-service.ts";
import { HOP_HEADER } from "../load/peer-client.ts";
import { MAX_BODY_BYTES, parsePacketRequest, preferWait } from "../load/request-body.ts";
import { ADDRESS, PACKET_ID } from "../wire/fields.ts";
import { json, problem } from "./json.ts";

/** Read at most MAX_BODY_BYTES; undefined when the body is larger (413). */
async function boundedText(req: Request): Promise<string | undefined> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) return undefined;
  const text = await req.text();
  return Buffer.byteLength(text) > MAX_BODY_BYTES ? undefined : text;
}

type Routes = Record<string, { POST: (req: Request) => Promise<Response> }>;

export function loadRoutes(load: LoadService): Routes {
  const tooLarge = () => {
    load.countBadRequest();
    return problem(413, `body larger than ${MAX_BODY_BYTES} bytes`);
  };
  return {
    "/handle_request": {
      POST: async (req: Request): Promise<Response> => {
        const t0 = performance.now();
        let text: string | undefined;
        try {
          text = await boundedText(req);
        } catch {
          load.countBadRequest();
          return problem(400, "could not read request body");
        }
        if (text === undefined) return tooLarge();
        const parsed = parsePacketRequest(text);
        if (!parsed.ok) {
          load.countBadRequest();
          return problem(parsed.status, parsed.error);
        }
        const hop = Math.min(8, Number.parseInt(req.headers.get(HOP_HEADER) ?? "0", 10) || 0);
        const pending = load.handle(parsed.value, Math.max(0, hop));
        let r = pending instanceof Promise ? await pending : pending;
        const wait = parsed.value.wait ?? preferWait(req.headers.get("prefer"));
        if (wait !== undefined && wait > 0) r = await load.lookup.withOutcome(r, wait);
        load.answered(r, (performance.now() - t0) / 1000, parsed.value.device_id);
        // Response.json without options is twice as fast; this is the hot path.
        return r.status === 200 && !r.headers ? Response.json(r.body) : json(r.body, r.status, r.headers);
      },
    },
    "/packets/ask": {
      POST: async (req: Request): Promise<Response> => {
        let body: { packet_id?: unknown; asker?: unknown };
        try {
          const text = await boundedText(req);
          if (text === undefined) return tooLarge();
          body = JSON.parse(text);
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
