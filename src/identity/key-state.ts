/**
 * The cluster keys a node holds in shared-secret mode, as two layers (pure; key-store.ts keeps
 * it on disk):
 *
 * - configured: what the operator started the node with (--cluster-key, DSEF_CLUSTER_KEY,
 *   --cluster-key-file), re-read from the file on SIGHUP;
 * - run time: what `dsef keys install/use/remove` changed since, and keys handed over at a join.
 *
 * Held = configured ∪ installed − removed; the key chosen with `use` sends while it is held, else
 * the first configured key still held. Each time the configured keys are read (start, SIGHUP)
 * they are compared with those read the time before, and what changed is the operator's newest
 * word: a key added to the configuration is no longer removed, one dropped from it is no longer
 * installed, a new first key sends. An unchanged configuration changes nothing, so a node that
 * rotated at run time keeps its keys across restarts and reloads.
 */
import * as v from "valibot";
import { base64, hex, issueText } from "../wire/fields.ts";
import { type ClusterKey, deriveClusterKey, MAX_KEYS } from "./keyring.ts";

export interface KeyState {
  /** Key ids of the configured keys when last read (the first sends unless `use` says otherwise). */
  readonly configured: readonly string[];
  /** Keys added at run time that are not configured. */
  readonly installed: readonly ClusterKey[];
  /** Configured key ids removed at run time. */
  readonly removed: readonly string[];
  /** The key id chosen at run time to send with. */
  readonly use: string | null;
}

export type KeyChange = { ok: true; state: KeyState; changed: boolean } | { ok: false; status: 400 | 404 | 409; reason: string };

const kidsOf = (keys: readonly ClusterKey[]): string[] => keys.map((k) => k.kid);

/** A state with nothing changed at run time: the configured keys as they are. */
export function freshState(configured: readonly ClusterKey[]): KeyState {
  return { configured: kidsOf(configured), installed: [], removed: [], use: null };
}

/** Anything changed at run time? (Then it is worth keeping on disk.) */
export const hasRunTimeChanges = (s: KeyState): boolean => s.installed.length > 0 || s.removed.length > 0 || s.use !== null;

/** The configured keys as read now, against the state kept from the last read (see above). */
export function reconcile(kept: KeyState | undefined, configured: readonly ClusterKey[]): KeyState {
  if (!kept) return freshState(configured);
  const now = kidsOf(configured);
  const before = new Set(kept.configured);
  const dropped = new Set(kept.configured.filter((kid) => !now.includes(kid)));
  const firstChanged = now[0] !== kept.configured[0];
  return {
    configured: now,
    // A key the configuration now lists that it did not list before is wanted: not removed any more.
    removed: kept.removed.filter((kid) => now.includes(kid) && before.has(kid)),
    installed: kept.installed.filter((k) => !dropped.has(k.kid) && !now.includes(k.kid)),
    use: firstChanged ? null : kept.use,
  };
}

/**
 * The keys held, the one that sends first. With every configured key removed and none installed
 * (the configuration changed under a run-time removal) the configured keys are held again:
 * a node never runs without a key.
 */
export function heldKeys(s: KeyState, configured: readonly ClusterKey[]): ClusterKey[] {
  const removed = new Set(s.removed);
  const held: ClusterKey[] = [];
  for (const k of [...configured.filter((c) => !removed.has(c.kid)), ...s.installed]) if (!held.some((h) => h.kid === k.kid)) held.push(k);
  if (held.length === 0) return [...configured];
  const send = held.find((k) => k.kid === s.use) ?? held[0]!;
  return [send, ...held.filter((k) => k !== send)].slice(0, MAX_KEYS);
}

/** Accept this key too (idempotent). */
export function install(s: KeyState, configured: readonly ClusterKey[], key: ClusterKey): KeyChange {
  const held = heldKeys(s, configured);
  if (held.some((k) => k.kid === key.kid)) return { ok: true, state: s, changed: false };
  if (held.length >= MAX_KEYS) return { ok: false, status: 409, reason: `this node holds ${MAX_KEYS} keys, the most it may: remove one first` };
  const state = s.configured.includes(key.kid) ? { ...s, removed: s.removed.filter((kid) => kid !== key.kid) } : { ...s, installed: [...s.installed, key] };
  return { ok: true, state, changed: true };
}

/** Send with this key from now on; it must be held. */
export function use(s: KeyState, configured: readonly ClusterKey[], kid: string): KeyChange {
  const held = heldKeys(s, configured);
  if (!held.some((k) => k.kid === kid)) return { ok: false, status: 409, reason: `key ${kid} is not held here: install it first` };
  return { ok: true, state: { ...s, use: kid }, changed: held[0]!.kid !== kid };
}

/** Stop accepting this key; never the one that sends, never the last one. */
export function remove(s: KeyState, configured: readonly ClusterKey[], kid: string): KeyChange {
  const held = heldKeys(s, configured);
  if (!held.some((k) => k.kid === kid)) return { ok: true, state: s, changed: false };
  if (held.length === 1) return { ok: false, status: 409, reason: `key ${kid} is the only key held here: install and use another first` };
  if (held[0]!.kid === kid) return { ok: false, status: 409, reason: `key ${kid} is the key this node sends with: use another first` };
  const state = {
    ...s,
    installed: s.installed.filter((k) => k.kid !== kid),
    removed: s.configured.includes(kid) && !s.removed.includes(kid) ? [...s.removed, kid] : s.removed,
    use: s.use === kid ? null : s.use,
  };
  return { ok: true, state, changed: true };
}

/**
 * Keys a seed handed over at a join, its send key first: the ones not held are installed, except
 * those removed here (an operator's decision, not undone by a member that missed it). The cluster
 * moved on while this node was away when the seed's send key is new here, or when our own send
 * key is not among the seed's keys (the seed refused it at hello: retired): then this node sends
 * with the seed's key, and drops the retired one. (A send key the seed holds too is this node's
 * operator's choice: kept, as in a rolling restart.)
 */
export function learn(s: KeyState, configured: readonly ClusterKey[], keys: readonly ClusterKey[]): KeyChange {
  const held = heldKeys(s, configured);
  const before = new Set(kidsOf(held));
  const retired = held[0] !== undefined && !keys.some((k) => k.kid === held[0]!.kid) ? held[0].kid : undefined;
  let state = s;
  for (const k of keys) {
    if (s.removed.includes(k.kid)) continue;
    const r = install(state, configured, k);
    if (r.ok) state = r.state;
  }
  const send = keys[0];
  if (send && (!before.has(send.kid) || retired) && heldKeys(state, configured).some((k) => k.kid === send.kid)) {
    state = { ...state, use: send.kid };
    const dropped = retired ? remove(state, configured, retired) : undefined;
    if (dropped?.ok) state = dropped.state;
  }
  const changed = state !== s;
  return { ok: true, state, changed };
}

/** On disk: ids and materials, no secret strings; bounded like the keyring. */
const fileSchema = v.strictObject({
  v: v.literal(1),
  configured: v.pipe(v.array(hex(8)), v.maxLength(MAX_KEYS)),
  installed: v.pipe(v.array(v.pipe(base64(44), v.length(44))), v.maxLength(MAX_KEYS)),
  removed: v.pipe(v.array(hex(8)), v.maxLength(MAX_KEYS)),
  use: v.nullable(hex(8)),
});

export function encodeKeyState(s: KeyState): string {
  const body: v.InferOutput<typeof fileSchema> = {
    v: 1,
    configured: [...s.configured],
    installed: s.installed.map((k) => k.material.toString("base64")),
    removed: [...s.removed],
    use: s.use,
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

/** The state in a file's text, or why it is not one. */
export function decodeKeyState(text: string): KeyState | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { error: "not JSON" };
  }
  const p = v.safeParse(fileSchema, raw);
  if (!p.success) return { error: `not a key state (${issueText(p.issues)})` };
  const installed = p.output.installed.map((m) => Buffer.from(m, "base64"));
  if (installed.some((m) => m.byteLength !== 32)) return { error: "an installed key is not 32 bytes" };
  return { configured: p.output.configured, installed: installed.map(deriveClusterKey), removed: p.output.removed, use: p.output.use };
}
