/** `dsef force-leave NAME|ID [--prune]`: mark a dead member left on every node, and stop retrying it. */
import { UsageError } from "../util/usage-error.ts";
import { CliError, commonHelp, parseClientArgs, runCli } from "./node-client.ts";
import { nodeRequest, refusal } from "./node-request.ts";
import { formatTable } from "./table.ts";

export const summary = "mark a dead member left cluster-wide, stop retrying it (--prune: forget it)";

const help = [
  "usage: dsef force-leave NAME|ID [--prune] [--node URL] [--json]",
  "",
  "Marks a dead (or suspect, silent) member left on the node asked and on every live member, so",
  "nobody retries it; with --prune every node forgets it at once. Each node first probes the member",
  "(UDP and HTTP): one that answers is alive and is not removed; one alive in a node's view is",
  "refused there; a member that lives after all refutes and comes back. Needs the API token",
  "(DSEF_API_TOKEN) when the nodes have one; a secured cluster needs nodes started with --api-token.",
  "",
  ...commonHelp.map((l) => l.replace("default 3000", "default 10000")),
  "  --prune         forget the member everywhere, not only mark it left",
].join("\n");

interface Answer {
  name: string;
  member: string;
  here: string;
  peers: { id: string; name: string; ok: boolean; outcome: string }[];
}

export function run(argv: string[]): Promise<number> {
  return runCli(async () => {
    const o = parseClientArgs(argv, process.env, { prune: { type: "boolean" } }, true);
    if (o === "help") return (console.log(help), 0);
    if (o.positionals.length !== 1) throw new UsageError("give one member: dsef force-leave NAME|ID (see --help)");
    const timeoutMs = o.rest.timeout === undefined ? 10_000 : o.timeoutMs;
    const a = await nodeRequest(o.node, "/force-leave", { timeoutMs, body: { member: o.positionals[0], prune: o.rest.prune === true } });
    if (a.status !== 200) throw new CliError(refusal(a));
    const body = a.body as Answer;
    if (typeof body?.here !== "string" || !Array.isArray(body.peers)) throw new CliError(`${o.node}/force-leave did not answer a result`);
    if (o.json) console.log(JSON.stringify(body, null, 2));
    else {
      console.log(`${body.name} (${body.member}): ${body.here} on the node asked`);
      if (body.peers.length > 0)
        console.log(
          formatTable(
            ["NODE", "OUTCOME"],
            body.peers.map((p) => [p.name, p.outcome]),
          ),
        );
    }
    // Refused or unanswered somewhere: say so in the exit code; run it again once that node can answer.
    return body.peers.every((p) => p.ok) ? 0 : 1;
  });
}
