/**
 * `dsef health [URL]`: GET a node's /health (or /ready) and exit 0 if it answers 2xx, else 1.
 * The container HEALTHCHECK: the image has no curl and no shell, and this needs no second
 * runtime. Prints one line either way (Docker keeps it in `docker inspect`).
 */
import { parseArgs } from "node:util";
import { UsageError } from "../util/usage-error.ts";
import { CliError, runCli } from "./node-client.ts";

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

/** The URL to GET. A URL with a path is used as it is; otherwise /health or /ready is added. Pure. */
export function healthUrl(arg: string | undefined, env: Record<string, string | undefined>, ready: boolean): string {
  const raw = arg ?? `127.0.0.1:${env.DSEF_PORT || "5000"}`;
  let url: URL;
  try {
    url = new URL(/^https?:\/\//.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`"${raw}" is not a URL (expected http://host:port)`);
  }
  if (url.pathname === "/" && !url.search) url.pathname = ready ? "/ready" : "/health";
  return url.href;
}

export function run(argv: string[]): Promise<number> {
  return runCli(async () => {
    let values: { ready?: boolean; timeout?: string; help?: boolean };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args: argv,
        options: { ready: { type: "boolean" }, timeout: { type: "string" }, help: { type: "boolean", short: "h" } },
        strict: true,
        allowPositionals: true,
      }));
    } catch (e) {
      throw new UsageError(`${(e as Error).message.split("\n")[0]!} (see --help)`);
    }
    if (values.help) return (console.log(help), 0);
    if (positionals.length > 1) throw new UsageError("health: at most one URL");
    const timeoutMs = values.timeout === undefined ? 2000 : Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 600_000) throw new UsageError("--timeout: expected milliseconds between 1 and 600000");
    const url = healthUrl(positionals[0], process.env, values.ready === true);
    let status: number;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      status = res.status;
      await res.body?.cancel();
    } catch (e) {
      const err = e as Error;
      throw new CliError(`unhealthy: ${url}: ${err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : err.message}`);
    }
    if (status < 200 || status > 299) throw new CliError(`unhealthy: ${url} answered HTTP ${status}`);
    console.log(`healthy: ${url} answered HTTP ${status}`);
    return 0;
  });
}
