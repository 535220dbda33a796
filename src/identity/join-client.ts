import * as v from "valibot";
import type { Address, MemberSnapshot } from "../membership/types.ts";
import { peerFetch } from "../ports/peer-http.ts";
import { PeerRefusedError } from "../ports/peer-refused.ts";
import { mismatch } from "../wire/protocol.ts";
import { snapshotToJson } from "../wire/sync-schema.ts";
import {
  type Credentials,
  checkPeer,
  credentialFields,
  earlyProof,
  ephemeral,
  type FinishBody,
  finishReplySchema,
  helloReplySchema,
  JOIN_HEADER,
  newHello,
  Refusal,
  signTranscript,
  transcript,
  wrapKey,
} from "./handshake.ts";
import { deriveClusterKey } from "./keyring.ts";
import type { NodeIdentity } from "./node-identity.ts";
import { unwrapKeys, wrapKeys } from "./wrap.ts";

async function post(
  seed: Address,
  path: string,
  body: unknown,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const res = await peerFetch(seed, path, {
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = { error: text.slice(0, 200) };
  }
  return { status: res.status, json };
}

const errorOf = (j: unknown): string =>
  typeof j === "object" && j && typeof (j as { error?: unknown }).error === "string" ? (j as { error: string }).error : "no reason given";

/**
 * Join through `seed`: prove who we are and that we belong, check that the seed does too,
 * and get its member table (and its cluster keys: in CA mode, and in shared-secret mode the keys
 * the cluster rotated to while we were away). Throws PeerRefusedError or a
 * network error.
 */
export async function joinVia(
  seed: Address,
  identity: NodeIdentity,
  creds: Credentials,
  members: readonly MemberSnapshot[],
  timeoutMs = 3000,
): Promise<MemberSnapshot[]> {
  const eph = ephemeral();
  // Shared-secret mode: the send key first, then each other key held, while the seed refuses the
  // key (403): a node that was down while the cluster rotated may hold the new key without
  // sending with it yet, and the old one may be retired by now.
  const send = creds.keyring.sendKey;
  const kids = creds.secret && send ? [send.kid, ...creds.keyring.all().flatMap((k) => (k === send ? [] : [k.kid]))] : [undefined];
  let hello = newHello(identity, eph, creds, kids[0]);
  let r1 = await post(seed, "/join/hello", hello, timeoutMs);
  for (const kid of kids.slice(1)) {
    if (r1.status !== 403) break;
    hello = newHello(identity, eph, creds, kid);
    r1 = await post(seed, "/join/hello", hello, timeoutMs);
  }
  if (r1.status !== 200) throw new PeerRefusedError("join", seed, r1.status, errorOf(r1.json));
  const parsedReply = v.safeParse(helloReplySchema, r1.json);
  if (!parsedReply.success) throw new PeerRefusedError("join", seed, 0, "malformed handshake reply");
  const reply = parsedReply.output;
  const versions = mismatch(reply.protocol);
  if (versions) throw new PeerRefusedError("join", seed, 409, versions);
  const t = transcript(hello, reply);
  try {
    checkPeer(creds, "seed", t, Buffer.from(reply.key, "base64"), reply.sig, reply.cert, reply.kid, reply.mac, Date.now() / 1000);
  } catch (e) {
    if (e instanceof Refusal) throw new PeerRefusedError("join", seed, 0, e.message);
    throw e;
  }
  const finish: FinishBody = {
    session: reply.session,
    sig: signTranscript(identity, "joiner", t),
    // The key named at hello, even if another handshake meanwhile handed us a newer send key.
    ...credentialFields(creds, "joiner", t, hello.kid),
    members: members.map(snapshotToJson),
  };
  const wrap = creds.shareKeys ? wrapKey(eph, reply.eph, t, "to-seed") : undefined;
  if (wrap && creds.keyring.size > 0)
    finish.keys = wrapKeys(
      wrap,
      creds.keyring.all().map((k) => k.material),
      "keys",
    );
  const r2 = await post(seed, "/join/finish", finish, timeoutMs, { [JOIN_HEADER]: `${reply.session}.${earlyProof(identity, creds, t, hello.kid)}` });
  if (r2.status !== 200) throw new PeerRefusedError("join", seed, r2.status, errorOf(r2.json));
  const parsedDone = v.safeParse(finishReplySchema, r2.json);
  if (!parsedDone.success) throw new PeerRefusedError("join", seed, 0, "malformed member table");
  const done = parsedDone.output;
  if (creds.shareKeys) {
    const back = wrapKey(eph, reply.eph, t, "to-joiner");
    const keys = back && done.keys ? unwrapKeys(back, done.keys, "keys") : undefined;
    if (!keys || keys.length === 0) throw new PeerRefusedError("join", seed, 0, "the seed handed over no usable cluster key");
    const derived = keys.map(deriveClusterKey);
    creds.keyring.add(derived);
    if (!creds.keyring.sendKey) creds.keyring.setSend(derived[0]!);
  } else if (creds.learnKeys && done.keys) {
    // Shared-secret mode: the seed's current keys (none from an older seed); unusable ones are ignored.
    const back = wrapKey(eph, reply.eph, t, "to-joiner");
    const keys = back ? unwrapKeys(back, done.keys, "keys") : undefined;
    if (keys && keys.length > 0) creds.learnKeys(keys.map(deriveClusterKey));
  }
  return done.members;
}
