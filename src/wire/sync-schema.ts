import { z } from "zod";
import { MAX_INCARNATION } from "../membership/incarnation.ts";
import { tagsProblem } from "../membership/tags.ts";
import type { MemberSnapshot, ProtocolRange, Tags } from "../membership/types.ts";
import { address, base64, nodeId } from "./fields.ts";
import { MAX_VERSION, PROTOCOL } from "./protocol.ts";

/**
 * Anti-entropy over HTTP: JSON, because a full member table outgrows a datagram. As in the
 * datagram codec, fields a newer build adds are ignored, never a reason to refuse an entry;
 * each body says which protocol versions its sender speaks.
 */
/** Proofs travel as base64 in JSON (up to 192 bytes: an alive proof with a certificate). */
const b64 = base64(256);

const version = z.number().int().min(1).max(MAX_VERSION);
export const protocolSchema = z.object({ min: version, max: version }).refine((r) => r.min <= r.max, "min above max");

export const snapshotSchema = z.object({
  id: nodeId,
  name: z.string().min(1).max(128),
  gossip: address,
  http: address,
  capacity: z.number().nonnegative().max(1e9),
  state: z.enum(["alive", "suspect", "dead", "left"]),
  incarnation: z.number().int().nonnegative().max(MAX_INCARNATION),
  proof: b64.optional(),
  load: z.object({ version: z.number().int().nonnegative(), backlog: z.number().nonnegative().max(1e12) }).optional(),
  load_proof: b64.optional(),
  tags: z
    .record(z.string(), z.string())
    .refine((t) => tagsProblem(t) === undefined)
    .optional(),
  protocol: protocolSchema.optional(),
});
export type SnapshotJson = z.infer<typeof snapshotSchema>;

export const MAX_SYNC_MEMBERS = 10_000;

/** Member-table entries this process refused, by any route (sync, join): for /status and metrics. */
export const memberTableStats = { entriesDropped: 0 };

/**
 * A member table from another node. The rule for what cannot be accepted: an entry that fails
 * its schema is dropped (and counted) and the rest is kept, so one bad or newer-format entry
 * never costs a whole join or sync. The table's own shape (an array, its length) stays strict.
 */
export const memberTableSchema = z
  .array(z.unknown())
  .max(MAX_SYNC_MEMBERS)
  .transform((entries): MemberSnapshot[] => {
    const kept: MemberSnapshot[] = [];
    for (const e of entries) {
      const parsed = snapshotSchema.safeParse(e);
      if (parsed.success) kept.push(snapshotFromJson(parsed.data));
      else memberTableStats.entriesDropped++;
    }
    return kept;
  });

/** `protocol`: the sender's range (absent from builds before versions: version 1). */
export const syncRequestSchema = z.object({ join: z.boolean(), members: memberTableSchema, protocol: protocolSchema.optional() });
export const syncResponseSchema = z.object({ members: memberTableSchema, protocol: protocolSchema.optional() });

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
