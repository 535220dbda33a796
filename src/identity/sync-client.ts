import * as v from "valibot";
import type { Address, MemberSnapshot } from "../membership/types.ts";
import { peerFetch } from "../ports/peer-http.ts";
import { PeerRefusedError } from "../ports/peer-refused.ts";
import { mismatch } from "../wire/protocol.ts";
import { protocolField, snapshotToJson, syncResponseSchema } from "../wire/sync-schema.ts";
import type { SyncAuth } from "./sync-auth.ts";

/**
 * POST our full state to a member's /sync and return its full state; with `auth`, the request
 * and the answer are authenticated with the cluster's sync key (see identity/sync-auth.ts).
 * Throws on any failure; a 401/403 (this cluster wants a credential we lack) as PeerRefusedError.
 */
export async function exchangeState(
  http: Address,
  members: readonly MemberSnapshot[],
  join: boolean,
  auth?: SyncAuth,
  timeoutMs = 3000,
): Promise<MemberSnapshot[]> {
  const body = JSON.stringify({ join, members: members.map(snapshotToJson), ...protocolField() });
  const signed = auth?.sign(body);
  const res = await peerFetch(http, "/sync", {
    headers: { "content-type": "application/json", ...signed?.headers },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status === 401 || res.status === 403) throw new PeerRefusedError("sync", http, res.status, text.slice(0, 200));
  if (!res.ok) throw new Error(`${http} answered ${res.status}: ${text.slice(0, 200)}`);
  if (auth && signed && !auth.checkResponse(signed.key, signed.nonce, text, res.headers.get("x-dsef-auth"), res.headers.get("x-dsef-keys"))) {
    throw new Error(`${http} sent an unauthenticated answer`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${http} sent a malformed member table`);
  }
  const parsed = v.safeParse(syncResponseSchema, raw);
  if (!parsed.success) throw new Error(`${http} sent a malformed member table`);
  const versions = mismatch(parsed.output.protocol);
  if (versions) throw new Error(`${http}: ${versions}`);
  return parsed.output.members;
}
