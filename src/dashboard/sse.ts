/**
 * Server-Sent Events over a Bun response stream. Open to any origin, so a dashboard served by
 * a node that has died can carry on through another node.
 */
import type { Server } from "bun";
import { CORS } from "../http/json.ts";
import type { EventHub } from "./event-hub.ts";

export { CORS };

const encoder = new TextEncoder();
/** Comment lines keep proxies and idle timers from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

export function sseResponse(req: Request, server: Server<undefined>, hub: EventHub): Response {
  // A stream lives for as long as the page is open: no idle timeout for this request.
  server.timeout(req, 0);
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          stop(); // the client went away between two events
        }
      };
      const unsubscribe = hub.subscribe((event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      if (!unsubscribe) {
        write(`event: busy\ndata: {"error":"too many dashboard clients"}\n\n`);
        controller.close();
        return;
      }
      const heartbeat = setInterval(() => write(": keep-alive\n\n"), HEARTBEAT_MS);
      stop = () => {
        clearInterval(heartbeat);
        unsubscribe();
      };
      req.signal.addEventListener("abort", () => {
        stop();
        try {
          controller.close();
        } catch {
          // already closed
        }
      });
    },
    cancel() {
      stop();
    },
  });
  return new Response(stream, {
    headers: { ...CORS, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
  });
}
