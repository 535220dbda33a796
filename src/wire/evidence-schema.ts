/**
 * A node's evidence about one member, as JSON (GET /members/:id/evidence, and GET /why, which
 * gathers them): times as ISO dates, fields in the API's snake_case. Read from other nodes
 * through `nodeReportSchema`: bounded, and lenient about fields and kinds it does not know (a
 * newer node may say more).
 */
import * as v from "valibot";
import type { Evidence } from "../membership/types.ts";
import { count, nodeId, record } from "./fields.ts";

export const MAX_REPORT_ENTRIES = 256;
const MAX_NAMES = 512;
const text = (max: number) => v.pipe(v.string(), v.maxLength(max));

const entrySchema = v.object({
  at: text(40),
  kind: text(32),
  by: nodeId,
  via: v.optional(text(64)),
  incarnation: v.optional(count),
  relays: v.optional(v.pipe(v.array(nodeId), v.maxLength(16))),
  suspected_ms: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))),
  detail: v.optional(text(200)),
});
export type EvidenceJson = v.InferOutput<typeof entrySchema>;

export const nodeReportSchema = v.object({
  node: v.object({ id: nodeId, name: text(128) }),
  /** The member as this node holds it now; absent when it holds no row for it. */
  view: v.optional(v.object({ state: v.picklist(["alive", "suspect", "dead", "left"]), incarnation: count, last_change: text(40) })),
  entries: v.pipe(v.array(entrySchema), v.maxLength(MAX_REPORT_ENTRIES)),
  /** Names of the ids the entries mention, as this node knows them. */
  names: v.pipe(
    record(nodeId, text(128)),
    v.check((r) => Object.keys(r).length <= MAX_NAMES, "too many names"),
  ),
});
export type NodeReport = v.InferOutput<typeof nodeReportSchema>;

/** One piece of evidence as JSON; `wall` turns the core's clock into wall-clock milliseconds. */
export function evidenceToJson(e: Evidence, wall: (t: number) => number): EvidenceJson {
  const j: EvidenceJson = { at: new Date(wall(e.at)).toISOString(), kind: e.kind, by: e.by };
  if (e.via !== undefined) j.via = e.via;
  if (e.incarnation !== undefined) j.incarnation = e.incarnation;
  if (e.relays !== undefined) j.relays = [...e.relays];
  if (e.suspectedMs !== undefined) j.suspected_ms = Math.round(e.suspectedMs);
  if (e.detail !== undefined) j.detail = e.detail;
  return j;
}
