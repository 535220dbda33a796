/**
 * `dsef health [URL]`: GET a node's /health (or /ready) and exit 0 if it answers 2xx, else 1.
 * The container HEALTHCHECK: the image has no curl and no shell, and this needs no second
 * runtime. Prints one line either way (Docker keeps it in `docker inspect`).
 *
 * It runs every 10 s in every container, so it imports nothing but fetch: node:util's parseArgs
 * and node:net (through the other commands' shared client) each added ~8 ms of CPU per check.
 */
import { UsageError } from "../util/usage-error.ts";

export const summary = "check a node's /health (or --ready); exit 0 when it answers 2xx (container health check)";

const help = [
  "usage: dsef health [URL] [--ready] [--timeout MS]",
  "",
  "  URL           node to check: http://host:port, host:port, or a full URL with its path",
  "                (default http://127.0.0.1:$DSEF_PORT, port 5000 when unset)",
  "  --ready       check /ready (joined a cluster) instead of /health (process answers)",
  "  --timeout MS  give up after this long (default 2000)",
  "exit code: 0 healthy, 1 unhealthy or unreachable, 2 bad usage",
].join("\n");

export interface HealthArgs {
  url?: string;
  ready: boolean;
  timeoutMs: number;
}

/** Parse `dsef health` arguments; throws UsageError, returns "help" for --help. Pure. */
export function parseHealthArgs(argv: readonly string[]): HealthArgs | "help" {
  const o: HealthArgs = { ready: false, timeoutMs: 2000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    if (flag === "--help" || flag === "-h") return "help";
    else if (flag === "--ready" && inline === undefined) o.ready = true;
    else if (flag === "--timeout") {
      const v = inline ?? argv[++i];
      const ms = Number(v);
      if (v === undefined || !Number.isInteger(ms) || ms <= 0 || ms > 600_000) throw new UsageError("--timeout: expected milliseconds between 1 and 600000");
      o.timeoutMs = ms;
    } else if (a.startsWith("-")) throw new UsageError(`health: unknown option ${a} (see --help)`);
    else if (o.url !== undefined) throw new UsageError("health: at most one URL");
    else o.url = a;
  }
  return o;
}

/** The URL to GET. A URL with a path is used as it is; otherwise /health or /ready is added. Pure. */
export function healthUrl(arg: string | undefined, env: Record<string, string | undefined>, ready: boolean): string {
  // A node with TLS on (DSEF_TLS_CERT, as in its container) speaks https only.
  const raw = arg ?? `${env.DSEF_TLS_CERT ? "https://" : ""}127.0.0.1:${env.DSEF_PORT || "5000"}`;
  let url: URL;
  try {
    url = new URL(/^https?:\/\//.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`"${raw}" is not a URL (expected http://host:port)`);
  }
  if (url.pathname === "/" && !url.search) url.pathname = ready ? "/ready" : "/health";
  return url.href;
}

export async function run(argv: string[]): Promise<number> {
  let url: string;
  let timeoutMs: number;
  let ownNode: boolean;
  try {
    const o = parseHealthArgs(argv);
    if (o === "help") return (console.log(help), 0);
    url = healthUrl(o.url, process.env, o.ready);
    ownNode = o.url === undefined;
    timeoutMs = o.timeoutMs;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`dsef: ${e.message}`);
    return 2;
  }
  try {
    // Its own node over https: the certificate names the node's address, not 127.0.0.1, and
    // liveness is all this asks, so the certificate is not checked for the local default.
    const local = ownNode && url.startsWith("https://");
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), ...(local ? { tls: { rejectUnauthorized: false } } : {}) });
    await res.body?.cancel();
    if (res.status < 200 || res.status > 299) {
      console.error(`dsef: unhealthy: ${url} answered HTTP ${res.status}`);
      return 1;
    }
    console.log(`healthy: ${url} answered HTTP ${res.status}`);
    return 0;
  } catch (e) {
    const err = e as Error;
    console.error(`dsef: unhealthy: ${url}: ${err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : err.message}`);
    return 1;
  }
}
