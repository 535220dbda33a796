/**
 * `dsef why`'s text: every node's evidence about one member merged into one timeline, then each
 * node's suspicions of it, who raised them, how long they ran and how they ended. Pure.
 */
import type { EvidenceJson, NodeReport } from "../wire/evidence-schema.ts";

export interface WhyAnswer {
  readonly member: string;
  readonly asked_by: string;
  readonly reports: readonly NodeReport[];
  readonly unanswered: readonly { readonly id: string; readonly name: string; readonly why: string }[];
  /** How many other members the node asked, of how many live ones (a large cluster: a sample). */
  readonly asked?: number;
  readonly live?: number;
}

type Namer = (id: string) => string;

/** Ids become names where any node knew one; an unknown id shows its first 12 characters. */
function namer(a: WhyAnswer): Namer {
  const names = new Map<string, string>();
  for (const r of a.reports) {
    names.set(r.node.id, r.node.name);
    for (const [id, name] of Object.entries(r.names)) if (!names.has(id)) names.set(id, name);
  }
  for (const u of a.unanswered) names.set(u.id, u.name);
  return (id) => names.get(id) ?? (id.length > 12 ? `${id.slice(0, 12)}…` : id);
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const clock = (iso: string): string => /T(\d\d:\d\d:\d\d\.\d{3})/.exec(iso)?.[1] ?? iso;
const list = (ids: readonly string[] | undefined, name: Namer): string => (ids && ids.length > 0 ? ids.map(name).join(", ") : "none");

/** One line of the timeline: what `reporter` recorded. */
export function describe(e: EvidenceJson, reporter: string, member: string, name: Namer): string {
  const by = e.by === reporter ? "" : e.by === member ? " by itself" : ` by ${name(e.by)}`;
  const via = e.via === undefined ? "" : e.via === "sync" ? ", from a full sync" : `, via ${name(e.via)}`;
  const why = e.detail === undefined ? "" : ` (${e.detail})`;
  const ran = e.suspected_ms === undefined ? "" : `, after ${seconds(e.suspected_ms)} of suspicion`;
  const inc = e.incarnation === undefined ? "" : ` at incarnation ${e.incarnation}`;
  switch (e.kind) {
    case "ack-timeout":
      return `probe: ${e.detail ?? "no ack"}; asked relays ${list(e.relays, name)} and its HTTP port`;
    case "nack":
      return e.by === reporter
        ? `relay: no answer for ${list(e.relays, name)}'s probe (${e.detail ?? "no ack"}), said so in a nack`
        : `nack from ${name(e.by)}: ${e.detail ?? "no ack"}`;
    case "answered":
      return `answered after all${by}: ${e.detail ?? ""}`;
    case "http":
      return `HTTP challenge: ${e.detail ?? "?"}`;
    case "probe-failed":
      return `probe failed: ${e.detail ?? "no proof of life"}; silent relays: ${list(e.relays, name)}`;
    case "suspect":
      return `SUSPECT${inc}${by || " by this node"}${why}${via}`;
    case "confirm":
      return `suspicion confirmed by ${name(e.by)}${why}${via}`;
    case "refuted":
      return `REFUTED${by}${why}${via}${ran}`;
    case "dead":
      return `DEAD${inc}${by || " by this node"}${why}${via}${ran}`;
    case "left":
      return `LEFT${by}${why}${via}${ran}`;
    case "joined":
    case "rejoined":
      return `${e.kind}${inc}${via}`;
    case "forgotten":
      return `forgotten${why}`;
    default:
      return `${e.kind}${by}${why}${via}`;
  }
}

const ENDS = new Set(["refuted", "dead", "left", "rejoined", "forgotten"]);

/** Each suspicion one node saw: raised when and by whom, how long it ran, how it ended. */
export function suspicions(r: NodeReport, member: string, name: Namer): string[] {
  const out: string[] = [];
  let open: EvidenceJson | undefined;
  const raised = (s: EvidenceJson) => `suspected at ${clock(s.at)} by ${name(s.by)}${s.detail && s.detail !== "about this node" ? ` (${s.detail})` : ""}`;
  for (const e of r.entries) {
    if (e.kind === "suspect" && !open) open = e;
    else if (ENDS.has(e.kind) && (open || e.kind === "dead")) {
      const end = `${e.kind === "refuted" ? `refuted by ${e.by === member ? "itself" : name(e.by)}` : e.kind}${e.detail ? ` (${e.detail})` : ""}`;
      const ran = e.suspected_ms ?? (open ? Date.parse(e.at) - Date.parse(open.at) : undefined);
      out.push(
        open
          ? `${raised(open)}; ${end} at ${clock(e.at)}${ran === undefined ? "" : `, after ${seconds(ran)}`}`
          : `${end} at ${clock(e.at)}, by ${name(e.by)} without suspicion`,
      );
      open = undefined;
    }
  }
  if (open) out.push(`${raised(open)}; still suspect`);
  return out;
}

export function whyText(a: WhyAnswer): string {
  const name = namer(a);
  const member = a.member;
  const lines: string[] = [];
  const views = a.reports.map((r) => `${name(r.node.id)}: ${r.view ? `${r.view.state} (incarnation ${r.view.incarnation})` : "not in its table"}`);
  lines.push(`${name(member)} (${member})`);
  lines.push(`now: ${views.join("; ")}`);
  if (a.unanswered.length > 0) lines.push(`no answer from: ${a.unanswered.map((u) => `${u.name} (${u.why})`).join("; ")}`);
  if (a.asked !== undefined && a.live !== undefined && a.asked < a.live) lines.push(`asked ${a.asked} of ${a.live} other live members (a sample)`);
  const merged = a.reports
    .flatMap((r) => r.entries.map((e) => ({ e, r })))
    .sort((x, y) => Date.parse(x.e.at) - Date.parse(y.e.at) || x.r.node.name.localeCompare(y.r.node.name));
  lines.push("");
  if (merged.length === 0) {
    lines.push("no evidence: no node recorded a failed probe, a suspicion or a change of this member (a node keeps a bounded log)");
    return lines.join("\n");
  }
  const width = Math.max(...a.reports.map((r) => r.node.name.length), 7);
  lines.push(`${"TIME (UTC)".padEnd(13)} ${"SEEN BY".padEnd(width)}  WHAT`);
  for (const { e, r } of merged) lines.push(`${clock(e.at).padEnd(13)} ${r.node.name.padEnd(width)}  ${describe(e, r.node.id, member, name)}`);
  const stories = a.reports.flatMap((r) => suspicions(r, member, name).map((s) => `  ${r.node.name}: ${s}`));
  if (stories.length > 0) lines.push("", "suspicions:", ...stories);
  return lines.join("\n");
}
