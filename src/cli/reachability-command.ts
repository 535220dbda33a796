/** `dsef reachability`: does every member answer this node now, over UDP and HTTP, as itself? */
import { CliError, commonHelp, parseClientArgs, runCli } from "./node-client.ts";
import { nodeRequest, refusal } from "./node-request.ts";
import { formatTable } from "./table.ts";

export const summary = "probe every member from a node over UDP and HTTP; exit 1 when one does not answer";

const help = [
  "usage: dsef reachability [--node URL] [--json]",
  "",
  "The node asked pings every member (a SWIM ping over UDP) and challenges its /health (HTTP), now;",
  "an answer counts only with the member's own proof of life (its signature in a secured cluster).",
  "Exit 0 when every member answers on both, 1 otherwise.",
  "",
  ...commonHelp.map((l) => l.replace("default 3000", "default 30000")),
].join("\n");

export interface ReachRow {
  id: string;
  name: string;
  state: string;
  gossip: string;
  http: string;
  udp: { answered: boolean; ms?: number };
  http_check: { result: string; ms: number; answered_as?: string };
}

export function run(argv: string[]): Promise<number> {
  return runCli(async () => {
    const o = parseClientArgs(argv, process.env);
    if (o === "help") return (console.log(help), 0);
    const timeoutMs = o.rest.timeout === undefined ? 30_000 : o.timeoutMs;
    const a = await nodeRequest(o.node, "/reachability", { timeoutMs });
    if (a.status !== 200) throw new CliError(refusal(a));
    const rows = (a.body as { members?: unknown })?.members;
    if (!Array.isArray(rows)) throw new CliError(`${o.node}/reachability did not answer a list of members`);
    const members = rows as ReachRow[];
    console.log(o.json ? JSON.stringify(a.body, null, 2) : reachTable(members));
    return members.every(answersBoth) ? 0 : 1;
  });
}

export const answersBoth = (r: ReachRow): boolean => r.udp.answered && r.http_check.result === "answered";

/** The table `dsef reachability` prints. Pure. */
export function reachTable(rows: readonly ReachRow[]): string {
  if (rows.length === 0) return "no other member to probe";
  const sorted = [...rows].sort((a, b) => Number(answersBoth(a)) - Number(answersBoth(b)) || a.name.localeCompare(b.name));
  const table = formatTable(
    ["NAME", "STATE", "UDP", "HTTP", "IDENTITY", "ID"],
    sorted.map((r) => [
      r.name,
      r.state,
      r.udp.answered ? `ack ${r.udp.ms} ms` : "no ack",
      r.http_check.result === "answered" ? `ok ${r.http_check.ms} ms` : r.http_check.result,
      identity(r),
      r.id,
    ]),
  );
  const silent = rows.filter((r) => !answersBoth(r)).length;
  return `${table}\n${silent === 0 ? `all ${rows.length} members answer on UDP and HTTP` : `${silent} of ${rows.length} members do not answer on both`}`;
}

function identity(r: ReachRow): string {
  if (r.http_check.answered_as) return `other: ${r.http_check.answered_as.slice(0, 16)}`;
  if (r.udp.answered || r.http_check.result === "answered") return "proven";
  return r.http_check.result === "unproven" ? "unproven" : "-";
}
