/** `dsef tags`: a node's tags, and changing them at run time (the node announces them at once). */

import { parseTag } from "../membership/tags.ts";
import { UsageError } from "../util/usage-error.ts";
import { CliError, commonHelp, getJson, parseClientArgs, postJson, runCli } from "./node-client.ts";

export const summary = "show a node's tags, or set/unset them at run time (dsef tags set zone=a)";

const help = [
  "usage: dsef tags [--node URL] [--json]",
  "       dsef tags set KEY=VALUE [KEY=VALUE...] [--node URL]",
  "       dsef tags unset KEY [KEY...] [--node URL]",
  "",
  "Changes go out at once in the node's signed alive claim. The node must have been started",
  "with --api-token (send it as $DSEF_API_TOKEN), or be asked from its own host.",
  "",
  ...commonHelp,
].join("\n");

export function run(argv: string[]): Promise<number> {
  return runCli(async () => {
    const o = parseClientArgs(argv, process.env, {}, true);
    if (o === "help") return (console.log(help), 0);
    const [verb, ...items] = o.positionals;
    if (verb === undefined) {
      const status = (await getJson(o.node, "/status", o.timeoutMs)) as { tags?: Record<string, string> };
      const tags = status?.tags ?? {};
      console.log(o.json ? JSON.stringify(tags, null, 2) : formatTags(tags));
      return 0;
    }
    if (verb !== "set" && verb !== "unset") throw new UsageError(`unknown argument "${verb}": expected set or unset (see --help)`);
    if (items.length === 0) throw new UsageError(`dsef tags ${verb}: name at least one ${verb === "set" ? "KEY=VALUE" : "KEY"}`);
    let body: { set?: Record<string, string>; unset?: string[] };
    try {
      body = verb === "set" ? { set: Object.fromEntries(items.map(parseTag)) } : { unset: items };
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const answer = (await postJson(o.node, "/tags", body, o.timeoutMs)) as { tags?: Record<string, string> };
    if (!answer?.tags) throw new CliError(`${o.node}/tags did not answer the node's tags`);
    console.log(o.json ? JSON.stringify(answer.tags, null, 2) : formatTags(answer.tags));
    return 0;
  });
}

/** "k=v" lines, sorted; "(no tags)" when there are none. Pure. */
export function formatTags(tags: Record<string, string>): string {
  const lines = Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return lines.length > 0 ? lines.join("\n") : "(no tags)";
}
