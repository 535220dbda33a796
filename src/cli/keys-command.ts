/**
 * `dsef keys list|install|use|remove`: rotate the cluster's shared secret from one command. The
 * node asked changes every live member's keys and reports, per key, how many members hold it and
 * send with it, and which do not hold it (docs/SECURITY.md, "Rotating the shared secret").
 */
import { readFileSync } from "node:fs";
import { readFlagFile } from "../config/flag-files.ts";
import { keyFromSecret } from "../identity/keyring.ts";
import { UsageError } from "../util/usage-error.ts";
import { CliError, commonHelp, parseClientArgs, runCli } from "./node-client.ts";
import { nodeRequest, refusal } from "./node-request.ts";
import { formatTable } from "./table.ts";

export const summary = "rotate the cluster key from one command: list, install KEY, use KID, remove KID";

const help = [
  "usage: dsef keys [list] [--node URL] [--json]",
  "       dsef keys install [SECRET | --key-file FILE] [--node URL]   (no SECRET: one line from stdin)",
  "       dsef keys use KID|--key-file FILE [--node URL]",
  "       dsef keys remove KID|--key-file FILE [--node URL]",
  "",
  "The node asked applies the change on every live member, then prints per key (KID) how many",
  "members hold it and send with it, and which members do not hold it. A rotation is:",
  "  dsef keys install NEW; dsef keys use <NEW's KID>; dsef keys remove <OLD's KID>",
  "`use` is refused until every member holds the key, `remove` while any member sends with it",
  "(and for a node's last key). Changes are kept in each node's data dir across restarts.",
  "Needs $DSEF_API_TOKEN on nodes with --api-token (else it runs on the node's own host only).",
  "Exit 0: done on every member; 1: refused, or some member did not apply it (see the list); 2: usage.",
  "",
  ...commonHelp.map((l) => l.replace("default 3000", "default 10000")),
  "  --key-file FILE the secret's file (first line that is not blank or a # comment); for use and",
  "                  remove it names the key by its secret instead of its KID",
].join("\n");

interface Report {
  complete: boolean;
  error?: string;
  members: number;
  answered: number;
  keys: { kid: string; held_by: number; sending: number; missing: string[] }[];
  unanswered: { name: string; why: string }[];
}

export function run(argv: string[], stdin: () => string = () => readFileSync(0, "utf8")): Promise<number> {
  return runCli(async () => {
    const o = parseClientArgs(argv, process.env, { "key-file": { type: "string" } }, true);
    if (o === "help") return (console.log(help), 0);
    const [verb = "list", ...args] = o.positionals;
    const timeoutMs = o.rest.timeout === undefined ? 10_000 : o.timeoutMs;
    const keyFile = o.rest["key-file"] as string | undefined;
    if (args.length > 1 || (args.length === 1 && keyFile)) throw new UsageError(`dsef keys ${verb}: give one key (see --help)`);
    let path: string;
    let body: unknown;
    let kid: string | undefined;
    if (verb === "list") {
      if (args.length > 0 || keyFile) throw new UsageError("dsef keys list takes no key (see --help)");
      path = "/keys";
    } else if (verb === "install") {
      const secret = args[0] ?? (keyFile ? firstLine(readFlagFile("--key-file", keyFile)) : firstLine(stdin()));
      kid = kidOf(secret);
      path = "/keys/install";
      body = { key: secret };
    } else if (verb === "use" || verb === "remove") {
      const given = args[0];
      if (given === undefined && !keyFile) throw new UsageError(`dsef keys ${verb}: name the key: its KID (dsef keys list) or --key-file FILE`);
      if (given !== undefined && !/^[0-9a-f]{8}$/.test(given))
        throw new UsageError(`dsef keys ${verb}: "${given}" is not a key id (8 hex digits, see dsef keys list)`);
      kid = given ?? kidOf(firstLine(readFlagFile("--key-file", keyFile!)));
      path = `/keys/${verb}`;
      body = { kid };
    } else throw new UsageError(`unknown argument "${verb}": expected list, install, use or remove (see --help)`);

    const a = await nodeRequest(o.node, path, { timeoutMs, body });
    const r = a.body as Report;
    if (!Array.isArray(r?.keys)) throw new CliError(refusal(a));
    if (o.json) console.log(JSON.stringify(r, null, 2));
    else console.log(formatReport(r));
    if (r.error) console.error(`dsef: refused: ${r.error}`);
    else if (kid && verb !== "list") console.error(`key ${kid}: ${verb} ${r.complete ? "done on every member" : "not done on every member (see above)"}`);
    return a.status === 200 && r.complete ? 0 : 1;
  });
}

function firstLine(text: string): string {
  const line = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith("#"));
  if (!line) throw new UsageError("dsef keys: no secret found: give it as an argument, with --key-file FILE, or on stdin");
  return line;
}

function kidOf(secret: string): string {
  try {
    return keyFromSecret(secret).kid;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The report as a table, then who did not answer. Pure. */
export function formatReport(r: Report): string {
  const n = r.members;
  const rows = r.keys.map((k) => [k.kid, `${k.held_by}/${n}`, `${k.sending}/${n}`, k.missing.length > 0 ? k.missing.join(", ") : "-"]);
  const lines = [formatTable(["KEY", "HELD", "SENDING", "NOT HELD BY"], rows)];
  for (const u of r.unanswered) lines.push(`${u.name}: ${u.why}`);
  return lines.join("\n");
}
