/** `dsef why NAME|ID`: the story of one member as the cluster saw it (who suspected it, on what, how it ended). */

import * as v from "valibot";
import { UsageError } from "../util/usage-error.ts";
import { type NodeReport, nodeReportSchema } from "../wire/evidence-schema.ts";
import { CliError, commonHelp, parseClientArgs, runCli } from "./node-client.ts";
import { nodeRequest, refusal } from "./node-request.ts";
import { type WhyAnswer, whyText } from "./why-timeline.ts";

export const summary = "why a member is suspect, dead or gone: every node's evidence, as one timeline";

const help = [
  "usage: dsef why NAME|ID [--node URL] [--json]",
  "",
  "Asks one node, which gathers every live member's evidence about NAME (its name, its id or the",
  "start of its id): failed probes, relays' nacks, HTTP challenges, who suspected it, who refuted,",
  "how long each suspicion ran and how it ended. Each node keeps a bounded log.",
  "",
  ...commonHelp.map((l) => l.replace("default 3000", "default 10000")),
].join("\n");

export function run(argv: string[]): Promise<number> {
  return runCli(async () => {
    const o = parseClientArgs(argv, process.env, {}, true);
    if (o === "help") return (console.log(help), 0);
    if (o.positionals.length !== 1) throw new UsageError("give one member: dsef why NAME|ID (see --help)");
    const timeoutMs = o.rest.timeout === undefined ? 10_000 : o.timeoutMs;
    const a = await nodeRequest(o.node, `/why?member=${encodeURIComponent(o.positionals[0]!)}`, { timeoutMs });
    if (a.status !== 200) throw new CliError(refusal(a));
    const answer = parseAnswer(a.body);
    if (!answer) throw new CliError(`${o.node}/why did not answer a story (is this a D-SEF node of this version?)`);
    console.log(o.json ? JSON.stringify(a.body, null, 2) : whyText(answer));
    return 0;
  });
}

/** The node's answer, its reports checked against their schema (the one a node checks its peers' with). */
export function parseAnswer(body: unknown): WhyAnswer | undefined {
  const b = body as Partial<WhyAnswer> | null;
  if (typeof b?.member !== "string" || typeof b.asked_by !== "string" || !Array.isArray(b.reports) || !Array.isArray(b.unanswered)) return undefined;
  const reports: NodeReport[] = [];
  for (const r of b.reports) {
    const parsed = v.safeParse(nodeReportSchema, r);
    if (!parsed.success) return undefined;
    reports.push(parsed.output);
  }
  const counts = typeof b.asked === "number" && typeof b.live === "number" ? { asked: b.asked, live: b.live } : {};
  return { member: b.member, asked_by: b.asked_by, reports, unanswered: b.unanswered, ...counts };
}
