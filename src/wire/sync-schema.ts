import { z } from "zod";
import type { MemberSnapshot } from "../membership/types.ts";

/** Anti-entropy over HTTP: JSON, because a full member table outgrows a datagram. */
const id = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/);
const address = z.string().regex(/^[A-Za-z0-9.\-_:[\]]{1,255}:\d{1,5}$/);

export const snapshotSchema = z.strictObject({
  id,
  name: z.string().min(1).max(128),
  gossip: address,
  http: address,
  capacity: z.number().nonnegative().max(1e9),
  state: z.enum(["alive", "suspect", "dead", "left"]),
  incarnation: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  load: z.strictObject({ version: z.number().int().nonnegative(), backlog: z.number().nonnegative().max(1e12) }).optional(),
});
export type SnapshotJson = z.infer<typeof snapshotSchema>;

export const MAX_SYNC_MEMBERS = 10_000;
export const syncRequestSchema = z.strictObject({ join: z.boolean(), members: z.array(snapshotSchema).max(MAX_SYNC_MEMBERS) });
export const syncResponseSchema = z.strictObject({ members: z.array(snapshotSchema).max(MAX_SYNC_MEMBERS) });

export function snapshotToJson(s: MemberSnapshot): SnapshotJson {
  const { info, state, incarnation, load } = s;
  return { id: info.id, name: info.name, gossip: info.gossip, http: info.http, capacity: info.capacity, state, incarnation, ...(load ? { load } : {}) };
}

export function snapshotFromJson(j: SnapshotJson): MemberSnapshot {
  const info = { id: j.id, name: j.name, gossip: j.gossip, http: j.http, capacity: j.capacity };
  return j.load ? { info, state: j.state, incarnation: j.incarnation, load: j.load } : { info, state: j.state, incarnation: j.incarnation };
}
