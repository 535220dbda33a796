/**
 * Shared-secret mode: the node's keys as key-state.ts says, kept in the data dir
 * (cluster-keys.json, mode 0600 like the identity key) so keys installed, used or removed at
 * run time survive a restart, and applied to the keyring every datagram, sync and node request
 * is checked against. The file is written only once something changed at run time.
 */
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../util/usage-error.ts";
import {
  decodeKeyState,
  encodeKeyState,
  hasRunTimeChanges,
  heldKeys,
  install,
  type KeyChange,
  type KeyState,
  learn,
  reconcile,
  remove,
  use,
} from "./key-state.ts";
import type { ClusterKey, Keyring } from "./keyring.ts";

export const KEY_STATE_FILE = "cluster-keys.json";

/** Which keys a node accepts and which it sends with, by id (no key material). */
export interface KeyView {
  readonly accepted: string[];
  readonly sending: string | null;
}

export const keyView = (keyring: Keyring): KeyView => ({ accepted: keyring.all().map((k) => k.kid), sending: keyring.sendKey?.kid ?? null });

export type KeyOutcome = { ok: true; changed: boolean } | { ok: false; status: 400 | 404 | 409 | 500; reason: string };

export class KeyStore {
  #configured: ClusterKey[];
  #state: KeyState;
  readonly #path: string | undefined;

  /** `dataDir` undefined: kept in memory only (tests). Throws a UsageError for a file it cannot use. */
  constructor(
    private readonly keyring: Keyring,
    configured: readonly ClusterKey[],
    dataDir?: string,
  ) {
    this.#configured = [...configured];
    this.#path = dataDir === undefined ? undefined : join(dataDir, KEY_STATE_FILE);
    const kept = this.#path ? readState(this.#path) : undefined;
    this.#state = reconcile(kept, this.#configured);
    this.keyring.replace(heldKeys(this.#state, this.#configured));
    // A file already there follows every change (a diff needs the last configuration read).
    if (kept) this.#save();
  }

  get state(): KeyState {
    return this.#state;
  }

  view(): KeyView {
    return keyView(this.keyring);
  }

  install(key: ClusterKey): KeyOutcome {
    return this.#commit(install(this.#state, this.#configured, key));
  }

  use(kid: string): KeyOutcome {
    return this.#commit(use(this.#state, this.#configured, kid));
  }

  remove(kid: string): KeyOutcome {
    return this.#commit(remove(this.#state, this.#configured, kid));
  }

  /** Keys a seed handed over at a join (its send key first). */
  learn(keys: readonly ClusterKey[]): KeyOutcome {
    return this.#commit(learn(this.#state, this.#configured, keys));
  }

  /** SIGHUP: the key file read again; what changed in it is applied over the run-time changes. */
  reload(configured: readonly ClusterKey[]): void {
    this.#configured = [...configured];
    const next = reconcile(this.#state, this.#configured);
    const r = this.#commit({ ok: true, state: next, changed: true });
    if (!r.ok) throw new Error(r.reason);
  }

  #commit(change: KeyChange): KeyOutcome {
    if (!change.ok) return change;
    if (!change.changed && change.state === this.#state) return { ok: true, changed: false };
    const before = this.#state;
    this.#state = change.state;
    try {
      this.#save();
    } catch (e) {
      this.#state = before;
      return { ok: false, status: 500, reason: `cannot keep the keys in the data dir: ${(e as Error).message}` };
    }
    this.keyring.replace(heldKeys(this.#state, this.#configured));
    return { ok: true, changed: change.changed };
  }

  #save(): void {
    if (!this.#path) return;
    if (!hasRunTimeChanges(this.#state) && !existsSync(this.#path)) return;
    // Written whole then renamed, so a crash leaves the old file or the new one, never half.
    const tmp = `${this.#path}.tmp`;
    writeFileSync(tmp, encodeKeyState(this.#state), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.#path);
  }
}

function readState(path: string): KeyState | undefined {
  if (!existsSync(path)) return undefined;
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new UsageError(`--data-dir: ${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`--data-dir: cannot read ${path}: ${(e as Error).message}`);
  }
  const s = decodeKeyState(text);
  if ("error" in s) throw new UsageError(`--data-dir: ${path}: ${s.error}; move it away to start from the configured cluster keys only`);
  return s;
}
