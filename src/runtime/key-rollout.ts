/**
 * `dsef keys list|install|use|remove`: one node, asked by the operator, changes the cluster keys
 * of every live member. It asks each member over the node-authenticated route (GET/POST
 * /keys/local): what it holds, or to install a key (sealed for that member under the current
 * cluster key, key-transfer.ts), use one or remove one. Each member applies the change under its
 * own rules (key-state.ts: never remove the key it sends with, nor its last one) and answers with
 * what it holds now; the answers make the report (key-report.ts).
 *
 * `use` is refused unless every live member holds the key, and `remove` while any member sends
 * with it: either would cut members off from each other. A member that does not answer blocks
 * both, since it might.
 */
import * as v from "valibot";
import { type KeyOutcome, type KeyStore, type KeyView, keyView } from "../identity/key-store.ts";
import { openSealedKey, sealKeyFor } from "../identity/key-transfer.ts";
import { type ClusterKey, type Keyring, MAX_KEYS } from "../identity/keyring.ts";
import { peerFetch } from "../ports/peer-http.ts";
import { base64, hex } from "../wire/fields.ts";
import { fanOut } from "./fan-out.ts";
import { type KeysReport, keysReport, type MemberKeys, removeBlocker, type Unanswered, useBlocker } from "./key-report.ts";

export const KEYS_LOCAL_PATH = "/keys/local";
const PEER_TIMEOUT_MS = 2000;

const kid = hex(8);
/** What one member asks another to do (POST /keys/local). */
export const peerOpSchema = v.variant("op", [
  v.strictObject({ op: v.literal("install"), kid, keys: base64(200) }),
  v.strictObject({ op: v.literal("use"), kid }),
  v.strictObject({ op: v.literal("remove"), kid }),
]);
export type PeerOp = v.InferOutput<typeof peerOpSchema>;
const viewSchema = v.object({ accepted: v.pipe(v.array(kid), v.maxLength(MAX_KEYS)), sending: v.nullable(kid) });

export interface Peer {
  readonly id: string;
  readonly name: string;
  readonly http: string;
}

/** What the rollout needs of the node. */
export interface KeyCluster {
  readonly self: Peer;
  /** The other live members. */
  peers(): Peer[];
  readonly keyring: Keyring;
  /** Shared-secret mode only: the keys this node holds, changeable at run time. */
  readonly store?: KeyStore;
  /** The mode, for the refusal where keys cannot be changed. */
  readonly mode: string;
  /** Headers carrying the operator's order to the member at `target` (with --api-token). */
  readonly order?: (target: string, body: string) => Record<string, string>;
}

export interface RolloutResult {
  /** 200 done (see `complete`), 409 refused before anything changed, 400/500 this node could not. */
  readonly status: 200 | 400 | 404 | 409 | 500;
  readonly error?: string;
  /** Every member asked applied the change. */
  readonly complete: boolean;
  readonly report: KeysReport;
}

const viewOf = (p: Peer, v: KeyView): MemberKeys => ({ id: p.id, name: p.name, accepted: v.accepted, sending: v.sending });

/** Ask one member (GET: its keys; POST: a change); its keys now, or why not. */
async function ask(c: KeyCluster, p: Peer, body: string | undefined, timeoutMs: number): Promise<MemberKeys | Unanswered> {
  const missing = (why: string): Unanswered => ({ id: p.id, name: p.name, why });
  try {
    const res = await peerFetch(p.http, KEYS_LOCAL_PATH, {
      sign: true,
      signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined ? {} : { body, headers: { "content-type": "application/json", ...c.order?.(p.http, body) } }),
    });
    const answer = (await res.json().catch(() => undefined)) as { error?: unknown } | undefined;
    if (!res.ok) return missing(typeof answer?.error === "string" ? `refused: ${answer.error.slice(0, 160)}` : `HTTP ${res.status}`);
    const view = v.safeParse(viewSchema, answer);
    return view.success ? viewOf(p, view.output) : missing("answered no key list");
  } catch (e) {
    return missing((e as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : "unreachable");
  }
}

const isView = (x: MemberKeys | Unanswered): x is MemberKeys => "accepted" in x;

/** Every member's keys: this node's, and each live member's answer. */
async function survey(
  c: KeyCluster,
  each?: (p: Peer) => string | undefined,
  timeoutMs = PEER_TIMEOUT_MS,
): Promise<{ views: MemberKeys[]; unanswered: Unanswered[] }> {
  const answers = await fanOut(c.peers(), (p) => ask(c, p, each?.(p), timeoutMs));
  return { views: [viewOf(c.self, keyView(c.keyring)), ...answers.filter(isView)], unanswered: answers.filter((a): a is Unanswered => !isView(a)) };
}

function done(s: { views: MemberKeys[]; unanswered: Unanswered[] }): RolloutResult {
  return { status: 200, complete: s.unanswered.length === 0, report: keysReport(s.views, s.unanswered) };
}

function refused(status: RolloutResult["status"], error: string, s: { views: MemberKeys[]; unanswered: Unanswered[] }): RolloutResult {
  return { status, error, complete: false, report: keysReport(s.views, s.unanswered) };
}

/** Where keys cannot be changed at run time, why. */
function storeOf(c: KeyCluster): KeyStore | string {
  if (c.store) return c.store;
  return c.mode === "open"
    ? "this cluster runs in open mode: it has no cluster keys"
    : "in CA mode the cluster makes and rotates its own gossip key: send SIGHUP to one node (docs/SECURITY.md)";
}

export async function listKeys(c: KeyCluster): Promise<RolloutResult> {
  return done(await survey(c));
}

export async function installKey(c: KeyCluster, key: ClusterKey): Promise<RolloutResult> {
  const store = storeOf(c);
  if (typeof store === "string") return refused(409, store, await survey(c));
  const here = store.install(key);
  if (!here.ok) return refused(here.status, here.reason, await survey(c));
  return done(
    await survey(c, (p) => {
      const sealed = sealKeyFor(c.keyring, p.http, key);
      return sealed && JSON.stringify({ op: "install", ...sealed } satisfies PeerOp);
    }),
  );
}

export async function useKey(c: KeyCluster, k: string): Promise<RolloutResult> {
  return change(c, k, "use", useBlocker);
}

export async function removeKey(c: KeyCluster, k: string): Promise<RolloutResult> {
  return change(c, k, "remove", removeBlocker);
}

/** `use` or `remove`: asked everywhere first, refused while it would cut a member off, then applied everywhere. */
async function change(c: KeyCluster, k: string, op: "use" | "remove", blocker: typeof useBlocker): Promise<RolloutResult> {
  const store = storeOf(c);
  const before = await survey(c);
  if (typeof store === "string") return refused(409, store, before);
  const why = blocker(before.views, before.unanswered, k);
  if (why) return refused(409, why, before);
  const here = op === "use" ? store.use(k) : store.remove(k);
  if (!here.ok) return refused(here.status, here.reason, before);
  return done(await survey(c, () => JSON.stringify({ op, kid: k } satisfies PeerOp)));
}

/** A member's request (POST /keys/local), applied here under this node's own rules. */
export function applyPeerOp(c: KeyCluster, op: PeerOp): { ok: true; view: KeyView } | { ok: false; status: number; reason: string } {
  const store = storeOf(c);
  if (typeof store === "string") return { ok: false, status: 409, reason: store };
  let r: KeyOutcome;
  if (op.op === "install") {
    const key = openSealedKey(c.keyring, c.self.http, op);
    if (!key) return { ok: false, status: 400, reason: "the key sent cannot be opened here (sealed under a key this node does not hold, or for another node)" };
    r = store.install(key);
  } else r = op.op === "use" ? store.use(op.kid) : store.remove(op.kid);
  return r.ok ? { ok: true, view: store.view() } : { ok: false, status: r.status, reason: r.reason };
}

/** This node's keys (GET /keys/local). */
export const localKeys = (c: KeyCluster): KeyView => keyView(c.keyring);
