/** `dsef status`: one node's own view of itself: identity, readiness, members, protocol counters. */
import { CliError, commonHelp, getJson, parseClientArgs, runCli } from "./node-client.ts";

export const summary = "show one node's status (--node URL, --json)";

const help = ["usage: dsef status [--node URL] [--json]", "", ...commonHelp].join("\n");

export function run(argv: string[]): Promise<number> {
  return runCli(async () => {
    const o = parseClientArgs(argv, process.env);
    if (o === "help") return (console.log(help), 0);
    const body = await getJson(o.node, "/status", o.timeoutMs);
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new CliError(`${o.node}/status did not answer an object`);
    console.log(o.json ? JSON.stringify(body, null, 2) : statusText(body as Record<string, unknown>));
    return 0;
  });
}

const REQUEST_COUNTERS = ["accepted", "forwarded", "rejected", "duplicates", "bad_requests"] as const;

/** Human-readable status: known fields first, in a fixed order, then counters. Pure. */
export function statusText(s: Record<string, unknown>): string {
  const lines: string[] = [];
  const field = (label: string, v: unknown) => v !== undefined && lines.push(`${`${label}:`.padEnd(14)}${String(v)}`);
  field("node", s.name);
  field("id", s.id);
  field("address", s.ip !== undefined ? `${s.ip}:${s.port} (gossip udp ${s.gossip_port})` : undefined);
  field("state", s.state);
  field("ready", s.ready);
  field("incarnation", s.incarnation);
  field("capacity", s.promised_capacity);
  // The node's own queue (`load` in /status); the gossiped figure only when that is missing.
  const load = s.load && typeof s.load === "object" ? (s.load as Record<string, unknown>) : undefined;
  if (typeof load?.backlog === "number")
    field("load", `${load.backlog} units queued, ratio ${Number(load.load_ratio).toFixed(2)} (seconds of work at capacity)`);
  else if (s.current_load !== undefined) field("load", `${s.current_load} (ratio ${Number(s.load_ratio).toFixed(2)})`);
  if (load)
    field(
      "requests",
      REQUEST_COUNTERS.filter((k) => load[k] !== undefined)
        .map((k) => `${load[k]} ${k.replace("_", " ")}`)
        .join(", "),
    );
  field("health", s.health_score);
  field("uptime", s.uptime_s === undefined ? undefined : `${s.uptime_s}s`);
  const members = s.members as Record<string, number> | undefined;
  if (members && typeof members === "object")
    field(
      "members",
      Object.entries(members)
        .map(([k, v]) => `${v} ${k}`)
        .join(", "),
    );
  for (const group of ["protocol", "transport"]) {
    const g = s[group];
    if (g && typeof g === "object") field(group, flatten(g as Record<string, unknown>).join(", "));
  }
  return lines.join("\n");
}

function flatten(o: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v && typeof v === "object" ? flatten(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}=${String(v)}`],
  );
}
