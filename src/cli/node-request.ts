/**
 * A request to one of a node's operator routes whose refusals the node explains (a member it does
 * not know, one that is alive): the JSON answer and its status, or a CliError when there is no
 * answer to show.
 */
import { isConnectionRefused } from "../util/connection-refused.ts";
import { CliError } from "./node-client.ts";

export interface NodeAnswer {
  readonly status: number;
  readonly body: unknown;
}

export async function nodeRequest(node: string, path: string, o: { timeoutMs: number; body?: unknown }): Promise<NodeAnswer> {
  const token = process.env.DSEF_API_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let res: Response;
  try {
    res = await fetch(`${node}${path}`, {
      method: o.body === undefined ? "GET" : "POST",
      headers: o.body === undefined ? headers : { ...headers, "content-type": "application/json" },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (e) {
    const err = e as Error;
    const why =
      err.name === "TimeoutError"
        ? `no answer within ${o.timeoutMs} ms`
        : isConnectionRefused(e)
          ? "connection refused (is a node running there?)"
          : err.message;
    throw new CliError(`cannot reach ${node}: ${why}`);
  }
  if (res.status === 401) throw new CliError(`${node}${path.split("?")[0]} needs the node's API token: set DSEF_API_TOKEN`);
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new CliError(`${node}${path.split("?")[0]} answered HTTP ${res.status}, not JSON (is this a D-SEF node?)`);
  }
  return { status: res.status, body };
}

/** The node's own words for a refusal, or its status. */
export function refusal(a: NodeAnswer): string {
  const error = (a.body as { error?: unknown } | null)?.error;
  return typeof error === "string" ? error : `HTTP ${a.status}`;
}
