import type { Address, MemberSnapshot } from "../membership/types.ts";
import { snapshotFromJson, snapshotToJson, syncResponseSchema } from "../wire/sync-schema.ts";

/** POST our full state to a member's /sync and return its full state. Throws on any failure. */
export async function exchangeState(http: Address, members: readonly MemberSnapshot[], join: boolean, timeoutMs = 3000): Promise<MemberSnapshot[]> {
  const res = await fetch(`http://${http}/sync`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ join, members: members.map(snapshotToJson) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`${http} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const parsed = syncResponseSchema.safeParse(await res.json());
  if (!parsed.success) throw new Error(`${http} sent a malformed member table`);
  return parsed.data.members.map(snapshotFromJson);
}
