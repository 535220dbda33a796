import type { SyncAuth } from "../identity/sync-auth.ts";
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
  if (!res.ok) {
    // 401/403: this cluster wants a credential we lack; the join loop says so at warn level.
    throw Object.assign(new Error(`${http} answered ${res.status}: ${(await res.text()).slice(0, 200)}`), { refused: res.status === 401 || res.status === 403 });
  }
  const parsed = syncResponseSchema.safeParse(await res.json());
  if (!parsed.success) throw new Error(`${http} sent a malformed member table`);
  return parsed.data.members.map(snapshotFromJson);
}

/** The same exchange, authenticated both ways with the cluster's sync key (see identity/sync-auth.ts). */
export async function authenticatedExchange(
  http: Address,
  members: readonly MemberSnapshot[],
  join: boolean,
  auth: SyncAuth,
  timeoutMs = 3000,
): Promise<MemberSnapshot[]> {
  const body = JSON.stringify({ join, members: members.map(snapshotToJson) });
  const { headers, nonce, key } = auth.sign(body);
  const res = await fetch(`http://${http}/sync`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${http} answered ${res.status}: ${text.slice(0, 200)}`);
  if (!auth.checkResponse(key, nonce, text, res.headers.get("x-dsef-auth"), res.headers.get("x-dsef-keys"))) throw new Error(`${http} sent an unauthenticated answer`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${http} sent a malformed member table`);
  }
  const parsed = syncResponseSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${http} sent a malformed member table`);
  return parsed.data.members.map(snapshotFromJson);
}
