/**
 * What the operator commands share: the --node/--json/--timeout options and a GET against a
 * node's HTTP API that fails with one clear line instead of a stack trace.
 */
import { parseArgs } from "node:util";
import { joinAddress, parseNodeAddress } from "../util/address.ts";
import { isConnectionRefused } from "../util/connection-refused.ts";
import { UsageError } from "../util/usage-error.ts";

/** A command that could not do its job (exit 1); a bad command line is a UsageError (exit 2). */
export class CliError extends Error {}

export interface ClientOptions {
  node: string;
  json: boolean;
  timeoutMs: number;
  rest: Record<string, string | string[] | boolean | undefined>;
  /** Arguments that are not options (only for commands that take them). */
  positionals: string[];
}

export const DEFAULT_NODE = "http://127.0.0.1:5000";

export const commonHelp = [
  "  --node URL      node to ask (default $DSEF_NODE or http://127.0.0.1:5000); $DSEF_API_TOKEN if the node has --api-token",
  "  --json          print the node's JSON answer, for scripts",
  "  --timeout MS    give up after this long (default 3000)",
];

/** Parse the shared options plus `extra`; throws UsageError on bad usage, returns "help" for --help. */
export function parseClientArgs(
  argv: string[],
  env: Record<string, string | undefined>,
  extra: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {},
  allowPositionals = false,
): ClientOptions | "help" {
  let values: Record<string, string | string[] | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { node: { type: "string" }, json: { type: "boolean" }, timeout: { type: "string" }, help: { type: "boolean", short: "h" }, ...extra },
      strict: true,
      allowPositionals,
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split("\n")[0]!} (see --help)`);
  }
  if (values.help) return "help";
  const timeoutMs = values.timeout === undefined ? 3000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 600_000) throw new UsageError("--timeout: expected milliseconds between 1 and 600000");
  return { node: normaliseNode(String(values.node ?? env.DSEF_NODE ?? DEFAULT_NODE)), json: values.json === true, timeoutMs, rest: values, positionals };
}

/** A node address by the rules of util/address.ts, as a base URL: "host:port" → "http://host:port". */
export function normaliseNode(raw: string): string {
  try {
    const a = parseNodeAddress(raw);
    return `${a.scheme}://${joinAddress(a.host, a.port)}`;
  } catch (e) {
    throw new UsageError(`--node: ${(e as Error).message}`);
  }
}

export function getJson(node: string, path: string, timeoutMs: number): Promise<unknown> {
  return call(node, path, timeoutMs);
}

/** POST a JSON body to an operator route (e.g. /tags); its JSON answer. */
export function postJson(node: string, path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  return call(node, path, timeoutMs, JSON.stringify(body));
}

async function call(node: string, path: string, timeoutMs: number, body?: string): Promise<unknown> {
  let res: Response;
  try {
    // A node started with --api-token wants it; the environment keeps it out of `ps`.
    const token = process.env.DSEF_API_TOKEN;
    res = await fetch(`${node}${path}`, {
      method: body === undefined ? "GET" : "POST",
      body,
      signal: AbortSignal.timeout(timeoutMs),
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    });
  } catch (e) {
    const err = e as Error;
    const why =
      err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : isConnectionRefused(e) ? "connection refused (is a node running there?)" : err.message;
    throw new CliError(`cannot reach ${node}: ${why}`);
  }
  if (res.status === 401) throw new CliError(`${node}${path} needs the node's API token: set DSEF_API_TOKEN`);
  if (!res.ok) {
    const why = await res.json().then(
      (b: { error?: unknown }) => (typeof b?.error === "string" ? `: ${b.error}` : ""),
      () => "",
    );
    throw new CliError(`${node}${path} answered HTTP ${res.status}${why}`);
  }
  try {
    return await res.json();
  } catch {
    throw new CliError(`${node}${path} did not answer JSON (is this a D-SEF node?)`);
  }
}

/** Run a command body: a CliError or UsageError becomes a message on stderr and its exit code. */
export async function runCli(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`dsef: ${e.message}`);
      return 2;
    }
    if (!(e instanceof CliError)) throw e;
    console.error(`dsef: ${e.message}`);
    return 1;
  }
}
