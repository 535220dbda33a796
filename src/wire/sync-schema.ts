import * as v from "valibot";
import { MAX_INCARNATION } from "../membership/incarnation.ts";
import { tagsProblem } from "../membership/tags.ts";
import type { MemberSnapshot, ProtocolRange, Tags } from "../membership/types.ts";
import { address, base64, count, nodeId, record } from "./fields.ts";
import { MAX_VERSION, PROTOCOL } from "./protocol.ts";

/**
 * Anti-entropy over HTTP: JSON, because a full member table outgrows a datagram. As in the
 * datagram codec, fields a newer build adds are ignored, never a reason to refuse an entry;
 * each body says which protocol versions its sender speaks.
 */
/** Proofs travel as base64 in JSON (up to 192 bytes: an alive proof with a certificate). */
const b64 = base64(256);

const version = v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(MAX_VERSION));
export const protocolSchema = v.pipe(
  v.object({ min: version, max: version }),
  v.check((r) => r.min <= r.max, "min above max"),
);
/** Tags as the datagram checks take them: strings, within the tag rules (membership/tags.ts). */
export const tagsSchema = v.pipe(
  record(v.string(), v.string()),
  v.check(
    (t) => tagsProblem(t) === undefined,
    (issue) => tagsProblem(issue.input) ?? "not tags",
  ),
);

export const snapshotSchema = v.object({
  id: nodeId,
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  gossip: address,
  http: address,
  capacity: v.pipe(v.number(), v.minValue(0), v.maxValue(1e9)),
  state: v.picklist(["alive", "suspect", "dead", "left"]),
  incarnation: v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(MAX_INCARNATION)),
  proof: v.optional(b64),
  load: v.optional(v.object({ version: count, backlog: v.pipe(v.number(), v.minValue(0), v.maxValue(1e12)) })),
  load_proof: v.optional(b64),
  tags: v.optional(tagsSchema),
  protocol: v.optional(protocolSchema),
});
export type SnapshotJson = v.InferOutput<typeof snapshotSchema>;

export const MAX_SYNC_MEMBERS = 10_000;

/** Member-table entries this process refused, by any route (sync, join): for /status and metrics. */
export const memberTableStats = { entriesDropped: 0 };

/**
 * A member table from another node. The rule for what cannot be accepted: an entry that fails
 * its schema is dropped (and counted) and the rest is kept, so one bad or newer-format entry
 * never costs a whole join or sync. The table's own shape (an array, its length) stays strict.
 */
export const memberTableSchema = v.pipe(
  v.array(v.unknown()),
  v.maxLength(MAX_SYNC_MEMBERS),
  v.transform((entries): MemberSnapshot[] => {
    const kept: MemberSnapshot[] = [];
    for (const e of entries) {
      const parsed = v.safeParse(snapshotSchema, e);
      if (parsed.success) kept.push(snapshotFromJson(parsed.output));
      else memberTableStats.entriesDropped++;
    }
    return kept;
  }),
);

/** `protocol`: the sender's range (absent from builds before versions: version 1). */
export const syncRequestSchema = v.object({ join: v.boolean(), members: memberTableSchema, protocol: v.optional(protocolSchema) });
export const syncResponseSchema = v.object({ members: memberTableSchema, protocol: v.optional(protocolSchema) });

/** What every sync and join body says about its sender. */
export const protocolField = (): { protocol: ProtocolRange } => ({ protocol: PROTOCOL });

export function snapshotToJson(s: MemberSnapshot): SnapshotJson {
  const { info, state, incarnation } = s;
  const j: SnapshotJson = { id: info.id, name: info.name, gossip: info.gossip, http: info.http, capacity: info.capacity, state, incarnation };
  if (s.proof) j.proof = Buffer.from(s.proof).toString("base64");
  if (s.load) j.load = s.load;
  if (s.loadProof) j.load_proof = Buffer.from(s.loadProof).toString("base64");
  if (info.tags && Object.keys(info.tags).length > 0) j.tags = { ...info.tags };
  if (info.protocol) j.protocol = { ...info.protocol };
  return j;
}

export function snapshotFromJson(j: SnapshotJson): MemberSnapshot {
  const info = {
    id: j.id,
    name: j.name,
    gossip: j.gossip,
    http: j.http,
    capacity: j.capacity,
    ...(j.tags && Object.keys(j.tags).length > 0 ? { tags: j.tags as Tags } : {}),
    ...(j.protocol ? { protocol: { min: j.protocol.min, max: j.protocol.max } } : {}),
  };
  return {
    info,
    state: j.state,
    incarnation: j.incarnation,
    ...(j.proof ? { proof: new Uint8Array(Buffer.from(j.proof, "base64")) } : {}),
    ...(j.load ? { load: j.load } : {}),
    ...(j.load_proof ? { loadProof: new Uint8Array(Buffer.from(j.load_proof, "base64")) } : {}),
  };
}
