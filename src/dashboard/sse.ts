/**
 * Server-Sent Events over a Bun response stream, bounded against clients that open many
 * streams or stop reading:
 * - at most `perClient` streams per client address (429 beyond), and the hub's total cap (503);
 * - a comment line every HEARTBEAT_MS, and the connection's idle timeout at STREAM_IDLE_S: a
 *   client that stops reading stops draining the socket, nothing more is written to it, and the
 *   connection is closed (Bun buffers writes to a stalled socket, so this is what bounds them).
 */
import type { Server } from "bun";
import { clientKey } from "../http/client-limits.ts";
import type { Send } from "./event-hub.ts";

const encoder = new TextEncoder();
/** Comment lines keep proxies and idle timers from closing a quiet stream that is being read. */
const HEARTBEAT_MS = 10_000;
/** No byte drained for this long (several heartbeats): the reader is gone or stalled. */
export const STREAM_IDLE_S = 35;
export const STREAMS_PER_CLIENT = 4;

export interface Subscribable {
  /** `req` is the stream's request (what it asks for, e.g. a level). */
  subscribe(send: Send, req?: Request): (() => void) | undefined;
}

type Headers = Record<string, string>;

/** The /events streams of one node. */
export class EventStreams {
  readonly #byClient = new Map<string, number>();

  constructor(
    private readonly hub: Subscribable,
    readonly perClient = STREAMS_PER_CLIENT,
    private readonly heartbeatMs = HEARTBEAT_MS,
    private readonly idleS = STREAM_IDLE_S,
    /** --api-token: a ticket in each hello, for /events on other nodes (dashboard failover). */
    private readonly ticket?: () => string,
  ) {}

  /** Open streams by client (tests, metrics). */
  get clients(): number {
    return this.#byClient.size;
  }

  open(req: Request, server: Server<undefined>, headers: Headers = {}): Response {
    const client = clientKey(server.requestIP(req)?.address ?? "?");
    const mine = this.#byClient.get(client) ?? 0;
    if (mine >= this.perClient) return refuse(429, `at most ${this.perClient} dashboard streams per client address`, headers);
    let stop = () => {};
    let opened = true;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const write = (text: string) => {
          try {
            controller.enqueue(encoder.encode(text));
          } catch {
            stop(); // the client went away between two events
          }
        };
        const ticket = this.ticket;
        const unsubscribe = this.hub.subscribe((event, data) => {
          const body = ticket && event === "hello" ? { ...(data as object), ticket: ticket() } : data;
          write(`event: ${event}\ndata: ${JSON.stringify(body)}\n\n`);
        }, req);
        if (!unsubscribe) {
          opened = false;
          return;
        }
        this.#byClient.set(client, (this.#byClient.get(client) ?? 0) + 1);
        const heartbeat = setInterval(() => write(": keep-alive\n\n"), this.heartbeatMs);
        let stopped = false;
        stop = () => {
          if (stopped) return;
          stopped = true;
          clearInterval(heartbeat);
          unsubscribe();
          const n = (this.#byClient.get(client) ?? 1) - 1;
          if (n > 0) this.#byClient.set(client, n);
          else this.#byClient.delete(client);
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
    if (!opened) {
      void stream.cancel();
      return refuse(503, "too many dashboard clients on this node", headers);
    }
    // Not 0 (never): a stalled reader must let go of its connection.
    server.timeout(req, this.idleS);
    return new Response(stream, {
      headers: { ...headers, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
    });
  }
}

function refuse(status: number, error: string, headers: Headers): Response {
  return Response.json({ error }, { status, headers: { ...headers, "retry-after": "5" } });
}
