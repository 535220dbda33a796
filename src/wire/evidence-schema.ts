/**
 * A node's evidence about one member, as JSON (GET /members/:id/evidence, and GET /why, which
 * gathers them): times as ISO dates, fields in the API's snake_case. Read from other nodes
 * through `nodeReportSchema`: bounded, and lenient about fields and kinds it does not know (a
 * newer node may say more).
 */
import { z } from "zod";
import type { Evidence } from "../membership/types.ts";
import { nodeId } from "./fields.ts";

export const MAX_REPORT_ENTRIES = 256;
const MAX_NAMES = 512;
const text = (max: number) => z.string().max(max);

const entrySchema = z.object({
  at: text(40),
  kind: text(32),
  by: nodeId,
  via: text(64).optional(),
  incarnation: z.number().int().nonnegative().optional(),
  relays: z.array(nodeId).max(16).optional(),
  suspected_ms: z.number().nonnegative().optional(),
  detail: text(200).optional(),
});
export type EvidenceJson = z.infer<typeof entrySchema>;

export const nodeReportSchema = z.object({
  node: z.object({ id: nodeId, name: text(128) }),
  /** The member as this node holds it now; absent when it holds no row for it. */
  view: z.object({ state: z.enum(["alive", "suspect", "dead", "left"]), incarnation: z.number().int().nonnegative(), last_change: text(40) }).optional(),
  entries: z.array(entrySchema).max(MAX_REPORT_ENTRIES),
  /** Names of the ids the entries mention, as this node knows them. */
  names: z.record(nodeId, text(128)).refine((r) => Object.keys(r).length <= MAX_NAMES, "too many names"),
});
export type NodeReport = z.infer<typeof nodeReportSchema>;

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
