/**
 * `dsef monitor`: membership events and log lines from a running node as they happen (like
 * `serf monitor`), at a chosen level, until Ctrl-C. Reads the node's GET /monitor stream.
 */
import { LEVEL_NAMES, LEVELS } from "../log/log-tap.ts";
import { isConnectionRefused } from "../util/connection-refused.ts";
import { UsageError } from "../util/usage-error.ts";
import { CliError, commonHelp, parseClientArgs, runCli } from "./node-client.ts";

export const summary = "stream a node's membership events and log lines (--node URL, --level info|debug|warn|...)";

const help = [
  "usage: dsef monitor [--node URL] [--level LEVEL] [--json]",
  "",
  ...commonHelp.map((l) =>
    l
      .replace("print the node's JSON answer, for scripts", "print each event as a JSON line: {type: hello|member|log|dropped, data}")
      .replace("give up after this long", "give up connecting after this long"),
  ),
  `  --level LEVEL   log lines at this level and above: ${LEVEL_NAMES.join(", ")} (default info), whatever the node logs at`,
  "Without --api-token on the node, only its own host may monitor it (dsef monitor on that host).",
].join("\n");

const NAME_OF: Record<number, string> = Object.fromEntries(Object.entries(LEVELS).map(([k, v]) => [v, k.toUpperCase()]));
/** Fields every line has, or that the hello already told. */
const QUIET = new Set(["level", "time", "msg", "pid", "hostname", "node", "name"]);

/** What the /monitor stream's events carry (monitor.ts on the node). */
export interface MonitorData {
  /** The hello's node; a log line's `node` is the logging node's name. */
  node?: { id?: string; name?: string; addr?: string } | string;
  level?: string | number;
  lines?: number;
  at?: number;
  event?: string;
  member?: { id?: string; name?: string; address?: string; state?: string; incarnation?: number };
  by?: string;
  reason?: string;
  time?: number;
  msg?: string;
  [field: string]: unknown;
}

/** One printed line for a stream event; undefined for what is not shown. Pure. */
export function formatMonitor(event: string, data: MonitorData, selfId = ""): string | undefined {
  const at = (t: unknown) => new Date(typeof t === "number" ? t : Date.now()).toISOString();
  if (event === "hello") {
    const n = typeof data.node === "object" ? data.node : {};
    return `${at(undefined)} [MONITOR] ${n.name} (${n.addr}, ${n.id}): log lines at ${data.level} and above; membership events`;
  }
  if (event === "dropped") return `${at(undefined)} [MONITOR] ${data.lines} log line(s) left out: the stream was faster than allowed`;
  if (event === "member") {
    const m = data.member ?? {};
    const extra = [data.by ? `by ${data.by}` : "", data.reason ?? ""].filter(Boolean).join("; ");
    return `${at(data.at)} [EVENT] ${data.event} ${m.name} ${m.address} ${m.state} incarnation ${m.incarnation} ${m.id}${extra ? ` (${extra})` : ""}`;
  }
  if (event === "log") {
    const fields = Object.entries(data)
      .filter(([k, v]) => !QUIET.has(k) && !(k === "id" && v === selfId))
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    return `${at(data.time)} [${NAME_OF[Number(data.level)] ?? data.level}] ${data.msg ?? ""}${fields.length ? ` ${fields.join(" ")}` : ""}`;
  }
  return undefined;
}

/** Whole SSE messages out of a growing buffer; the unfinished rest stays. Pure. */
export function takeMessages(buf: string): { messages: { event: string; data: string }[]; rest: string } {
  const messages: { event: string; data: string }[] = [];
  let end: number;
  let rest = buf;
  while ((end = rest.indexOf("\n\n")) >= 0) {
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (data.length) messages.push({ event, data: data.join("\n") });
  }
  return { messages, rest };
}

export function run(argv: string[]): Promise<number> {
  return runCli(async () => {
    const o = parseClientArgs(argv, process.env, { level: { type: "string" } });
    if (o === "help") return (console.log(help), 0);
    const level = (o.rest.level as string | undefined) ?? "info";
    if (!(LEVEL_NAMES as string[]).includes(level)) throw new UsageError(`--level: expected one of ${LEVEL_NAMES.join(", ")}`);
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    process.once("SIGTERM", () => stop.abort());
    // --timeout bounds the wait for the node's answer, not the stream that follows it.
    const connect = new AbortController();
    const timer = setTimeout(() => connect.abort(), o.timeoutMs);
    const token = process.env.DSEF_API_TOKEN;
    let res: Response;
    try {
      res = await fetch(`${o.node}/monitor?level=${level}`, {
        signal: AbortSignal.any([stop.signal, connect.signal]),
        headers: { accept: "text/event-stream", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
    } catch (e) {
      if (stop.signal.aborted) return 0;
      const why = connect.signal.aborted
        ? `no answer within ${o.timeoutMs} ms`
        : isConnectionRefused(e)
          ? "connection refused (is a node running there?)"
          : (e as Error).message;
      throw new CliError(`cannot reach ${o.node}: ${why}`);
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 401) throw new CliError(`${o.node}/monitor needs the node's API token: set DSEF_API_TOKEN`);
    if (!res.ok || !res.body) {
      const reason = ((await res.json().catch(() => ({}))) as { error?: string }).error;
      throw new CliError(`${o.node}/monitor answered HTTP ${res.status}${reason ? `: ${reason}` : ""}`);
    }
    let selfId = "";
    let buf = "";
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as ReadableStream<Uint8Array>) {
        const { messages, rest } = takeMessages(buf + decoder.decode(chunk, { stream: true }));
        buf = rest;
        for (const m of messages) {
          const data = JSON.parse(m.data) as MonitorData;
          if (m.event === "hello" && typeof data.node === "object") selfId = data.node.id ?? "";
          const line = o.json ? JSON.stringify({ type: m.event, data }) : formatMonitor(m.event, data, selfId);
          if (line !== undefined) console.log(line);
        }
      }
    } catch (e) {
      if (stop.signal.aborted) return 0;
      throw new CliError(`the stream from ${o.node} broke: ${(e as Error).message}`);
    }
    if (stop.signal.aborted) return 0;
    throw new CliError(`${o.node} ended the stream (the node stopped?)`);
  });
}
