/** `dsef members`: the cluster as one node sees it (like `serf members`). */

import type { PeerView as Peer } from "../http/peer-view.ts";
import { hasTags, parseTag } from "../membership/tags.ts";
import { UsageError } from "../util/usage-error.ts";
import { CliError, commonHelp, getJson, parseClientArgs, runCli } from "./node-client.ts";
import { formatTable } from "./table.ts";

export const summary = "list the cluster's members as a node sees them (--node URL, --json)";

const STATES = ["alive", "suspect", "dead", "left"];
const ORDER: Record<string, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

const help = [
  "usage: dsef members [--node URL] [--json] [--state STATE] [--tag KEY=VALUE ...]",
  "",
  ...commonHelp,
  "  --state STATE   only members in this state (alive, suspect, dead, left)",
  "  --tag K=V       only members carrying this tag (repeatable: all of them)",
].join("\n");

export function run(argv: string[]): Promise<number> {
  return runCli(async () => {
    const o = parseClientArgs(argv, process.env, { state: { type: "string" }, tag: { type: "string", multiple: true } });
    if (o === "help") return (console.log(help), 0);
    const state = o.rest.state as string | undefined;
    if (state !== undefined && !STATES.includes(state)) throw new UsageError(`--state: expected one of ${STATES.join(", ")}`);
    const body = await getJson(o.node, "/peers", o.timeoutMs);
    if (!Array.isArray(body)) throw new CliError(`${o.node}/peers did not answer a list of members`);
    let want: Record<string, string>;
    try {
      want = Object.fromEntries(((o.rest.tag as string[] | undefined) ?? []).map(parseTag));
    } catch (e) {
      throw new UsageError(`--tag: ${(e as Error).message}`);
    }
    const peers = (body as Peer[]).filter((p) => (state === undefined || p.state === state) && hasTags(p.tags, want));
    if (o.json) console.log(JSON.stringify(peers, null, 2));
    else console.log(membersTable(peers, Date.now()));
    return 0;
  });
}

/** The table `dsef members` prints. Pure. */
export function membersTable(peers: readonly Peer[], now: number): string {
  const rows = [...peers]
    .sort((a, b) => (ORDER[a.state] ?? 9) - (ORDER[b.state] ?? 9) || a.name.localeCompare(b.name))
    .map((p) => [
      p.self ? `${p.name} *` : p.name,
      `${p.ip}:${p.port}`,
      p.state,
      String(p.incarnation),
      String(p.promised_capacity),
      p.current_load === undefined ? "-" : String(Math.round(p.current_load)),
      p.load_ratio === undefined ? "-" : p.load_ratio.toFixed(2),
      since(p.last_change, now),
      Object.entries(p.tags ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(",") || "-",
      p.id,
    ]);
  return formatTable(["NAME", "ADDRESS", "STATE", "INCARNATION", "CAPACITY", "LOAD", "RATIO", "CHANGED", "TAGS", "ID"], rows);
}

function since(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "?";
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}
