/**
 * GET /monitor: what `dsef monitor` shows (like `serf monitor`), as Server-Sent Events over the
 * same bounded streams as /events (sse.ts):
 *   hello   {node: {id, name, addr}, level, node_level}   who answers, what it sends
 *   member  a membership event in the hooks' words (hooks/hook-event.ts)
 *   log     a log line at ?level= or above (trace, debug, info, warn, error; default info)
 *   dropped {lines}: log lines left out because the watcher could not keep up
 * Log lines are held to LINES_PER_S per stream (bursts of twice that): a debug monitor on a busy
 * node costs a bounded amount, and a reader that stops reading is cut off by the stream's idle
 * timeout. With --api-token the token is needed; without one, only this host may watch (the
 * log names devices and packets), as `serf monitor` speaks to its agent's local RPC.
 */
import type { Server } from "bun";
import { hookEvent } from "../hooks/hook-event.ts";
import { LEVEL_NAMES, type LevelName, type LogTap } from "../log/log-tap.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import type { Send } from "./event-hub.ts";
import { EventStreams, type Subscribable } from "./sse.ts";

export const LINES_PER_S = 200;
const MAX_WATCHERS = 8;
const STREAMS_PER_CLIENT = 4;

/** A token bucket over log lines: how many may go now. Pure: the caller passes the time. */
export class LineBudget {
  #tokens: number;
  #at: number;
  dropped = 0;
  constructor(
    private readonly perS: number,
    now: number,
  ) {
    this.#tokens = 2 * perS;
    this.#at = now;
  }
  take(now: number): boolean {
    this.#tokens = Math.min(2 * this.perS, this.#tokens + ((now - this.#at) * this.perS) / 1000);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens--;
      return true;
    }
    this.dropped++;
    return false;
  }
}

/** The level a watcher asks for, or an error message. */
export function monitorLevel(raw: string | null): LevelName | { error: string } {
  const level = raw ?? "info";
  return (LEVEL_NAMES as string[]).includes(level) ? (level as LevelName) : { error: `level must be one of ${LEVEL_NAMES.join(", ")}` };
}

export class MonitorHub implements Subscribable {
  #watchers = 0;

  constructor(
    private readonly node: EdgeNode,
    private readonly tap: LogTap | undefined,
    readonly max = MAX_WATCHERS,
    private readonly perS = LINES_PER_S,
  ) {}

  get watchers(): number {
    return this.#watchers;
  }

  subscribe(send: Send, req?: Request): (() => void) | undefined {
    if (this.#watchers >= this.max) return undefined;
    const parsed = monitorLevel(req ? new URL(req.url).searchParams.get("level") : null);
    const level = typeof parsed === "string" ? parsed : "info";
    this.#watchers++;
    const s = this.node.swim.self;
    send("hello", { node: { id: s.id, name: s.name, addr: s.http }, level, node_level: this.tap?.baseLevel ?? this.node.config.logLevel });
    const offEvents = this.node.onEvent((e) => send("member", hookEvent(e, Date.now())));
    const budget = new LineBudget(this.perS, performance.now());
    let reported = 0;
    const offLog = this.tap?.watch(level, (line) => {
      if (budget.take(performance.now())) send("log", line);
    });
    // Say what was left out, once a second at most.
    const report = setInterval(() => {
      if (budget.dropped === reported) return;
      send("dropped", { lines: budget.dropped - reported });
      reported = budget.dropped;
    }, 1000);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#watchers--;
      clearInterval(report);
      offEvents();
      offLog?.();
    };
  }
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** The GET /monitor handler (the gate checks the API token first when there is one). */
export function monitorRoute(node: EdgeNode, tap: LogTap | undefined, tokenRequired: boolean) {
  const hub = new MonitorHub(node, tap);
  const streams = new EventStreams(hub, STREAMS_PER_CLIENT);
  const handler = (req: Request, server: Server<undefined>): Response => {
    const level = monitorLevel(new URL(req.url).searchParams.get("level"));
    if (typeof level !== "string") return Response.json(level, { status: 400 });
    if (!tokenRequired && !LOOPBACK.test(server.requestIP(req)?.address ?? "")) {
      return Response.json(
        { error: "without --api-token, only this node's own host may monitor it; start the node with --api-token to watch from elsewhere" },
        { status: 403 },
      );
    }
    return streams.open(req, server);
  };
  return { hub, handler };
}
