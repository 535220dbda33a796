/**
 * The run-time key state of `dsef keys` (configured ∪ installed − removed, the used key), its
 * file in the data dir, the seal between members, and the per-key report with its refusals.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiAuth } from "../../src/http/api-auth.ts";
import { decodeKeyState, encodeKeyState, freshState, heldKeys, install, type KeyState, learn, reconcile, remove, use } from "../../src/identity/key-state.ts";
import { KEY_STATE_FILE, KeyStore } from "../../src/identity/key-store.ts";
import { openSealedKey, sealKeyFor } from "../../src/identity/key-transfer.ts";
import { Keyring, keyFromSecret, MAX_KEYS, randomClusterKey } from "../../src/identity/keyring.ts";
import { keysReport, removeBlocker, useBlocker } from "../../src/runtime/key-report.ts";
import { UsageError } from "../../src/util/usage-error.ts";

const OLD = keyFromSecret("key-state-old-secret-0001");
const NEW = keyFromSecret("key-state-new-secret-0002");
const THIRD = keyFromSecret("key-state-third-secret-003");
const kids = (s: KeyState, configured = [OLD]) => heldKeys(s, configured).map((k) => k.kid);

function ok(r: ReturnType<typeof install>): KeyState {
  if (!r.ok) throw new Error(r.reason);
  return r.state;
}

describe("merge: configured ∪ installed − removed, the used key first", () => {
  test("install, use, remove: the rotation", () => {
    let s = freshState([OLD]);
    expect(kids(s)).toEqual([OLD.kid]);
    s = ok(install(s, [OLD], NEW));
    expect(kids(s)).toEqual([OLD.kid, NEW.kid]);
    s = ok(use(s, [OLD], NEW.kid));
    expect(kids(s)).toEqual([NEW.kid, OLD.kid]);
    s = ok(remove(s, [OLD], OLD.kid));
    expect(kids(s)).toEqual([NEW.kid]);
    expect(s).toMatchObject({ configured: [OLD.kid], removed: [OLD.kid], use: NEW.kid });
  });

  test("refused: using a key not held, removing the send key or the last key; idempotent install and remove", () => {
    const s = freshState([OLD]);
    expect(use(s, [OLD], NEW.kid)).toMatchObject({ ok: false, status: 409 });
    expect(remove(s, [OLD], OLD.kid)).toMatchObject({ ok: false, reason: expect.stringContaining("only key") });
    const two = ok(install(s, [OLD], NEW));
    expect(remove(two, [OLD], OLD.kid)).toMatchObject({ ok: false, reason: expect.stringContaining("sends with") });
    expect(install(two, [OLD], NEW)).toMatchObject({ ok: true, changed: false });
    expect(remove(two, [OLD], THIRD.kid)).toMatchObject({ ok: true, changed: false });
  });

  test("bounded: no more than MAX_KEYS held", () => {
    let s = freshState([OLD]);
    for (let i = 1; i < MAX_KEYS; i++) s = ok(install(s, [OLD], randomClusterKey()));
    expect(kids(s)).toHaveLength(MAX_KEYS);
    expect(install(s, [OLD], randomClusterKey())).toMatchObject({ ok: false, status: 409 });
  });

  test("a removed configured key installed again is simply no longer removed", () => {
    let s = ok(use(ok(install(freshState([OLD]), [OLD], NEW)), [OLD], NEW.kid));
    s = ok(remove(s, [OLD], OLD.kid));
    s = ok(install(s, [OLD], OLD));
    expect(s.removed).toEqual([]);
    expect(s.installed.map((k) => k.kid)).toEqual([NEW.kid]);
  });

  test("a join's hand-over: keys not held are installed; the seed's send key is used only when it is new here", () => {
    const s = freshState([OLD]);
    const caughtUp = ok(learn(s, [OLD], [NEW, OLD]));
    expect(kids(caughtUp)).toEqual([NEW.kid, OLD.kid]);
    // The seed still sends with a key this node holds: this node's own choice stands.
    const notYet = ok(learn(s, [OLD], [OLD, NEW]));
    expect(kids(notYet)).toEqual([OLD.kid, NEW.kid]);
    // An operator's rolling restart with NEW first, joining a seed that still sends with OLD: NEW stays.
    const rolling = ok(learn(freshState([NEW, OLD]), [NEW, OLD], [OLD, NEW]));
    expect(kids(rolling, [NEW, OLD])).toEqual([NEW.kid, OLD.kid]);
    expect(learn(caughtUp, [OLD], [NEW, OLD])).toMatchObject({ ok: true, changed: false });
    // Down after install, back after remove: it held NEW, sent with OLD, which the seed no longer holds.
    const missedUse = ok(install(freshState([OLD]), [OLD], NEW));
    const back = ok(learn(missedUse, [OLD], [NEW]));
    expect(kids(back)).toEqual([NEW.kid]);
    expect(back).toMatchObject({ removed: [OLD.kid], use: NEW.kid });
    // A seed that missed a remove hands the removed key back: it stays removed here.
    const rotated = ok(remove(ok(use(missedUse, [OLD], NEW.kid)), [OLD], OLD.kid));
    expect(learn(rotated, [OLD], [NEW, OLD])).toMatchObject({ ok: true, changed: false });
    expect(kids(rotated)).toEqual([NEW.kid]);
  });
});

describe("the configuration read again (restart, SIGHUP): what changed in it is the operator's newest word", () => {
  const rotated = ok(remove(ok(use(ok(install(freshState([OLD]), [OLD], NEW)), [OLD], NEW.kid)), [OLD], OLD.kid));

  test("unchanged: the run-time rotation stands", () => {
    expect(kids(reconcile(rotated, [OLD]))).toEqual([NEW.kid]);
  });

  test("the manual rolling flow still works over a run-time state", () => {
    let s = reconcile(rotated, [OLD, THIRD]); // accept THIRD
    expect(kids(s, [OLD, THIRD])).toEqual([NEW.kid, THIRD.kid]);
    s = reconcile(s, [THIRD, OLD]); // send with THIRD: a new first key beats `use`
    expect(kids(s, [THIRD, OLD])).toEqual([THIRD.kid, NEW.kid]);
    s = reconcile(s, [THIRD]);
    expect(kids(s, [THIRD])).toEqual([THIRD.kid, NEW.kid]);
  });

  test("a key dropped from the configuration is no longer held, even if installed; one added back is held again", () => {
    const s1 = reconcile(rotated, [OLD, NEW]); // NEW now configured too
    expect(s1.installed).toEqual([]);
    const s2 = reconcile(s1, [OLD]); // and dropped again: gone
    expect(kids(s2)).toEqual([OLD.kid]);
    // OLD was removed at run time; dropped from and added back to the file it is held again.
    const s3 = reconcile(reconcile(rotated, [NEW]), [NEW, OLD]);
    expect(kids(s3, [NEW, OLD])).toContain(OLD.kid);
  });

  test("never without a key: every configured key removed and none installed holds the configured ones", () => {
    const s: KeyState = { configured: [OLD.kid], installed: [], removed: [OLD.kid], use: null };
    expect(kids(s)).toEqual([OLD.kid]);
  });
});

describe("the file in the data dir", () => {
  test("round trip; ids and 32-byte materials only; garbage is refused with a reason", () => {
    const s = ok(use(ok(install(freshState([OLD]), [OLD], NEW)), [OLD], NEW.kid));
    const text = encodeKeyState(s);
    expect(JSON.parse(text)).toEqual({ v: 1, configured: [OLD.kid], installed: [NEW.material.toString("base64")], removed: [], use: NEW.kid });
    const back = decodeKeyState(text) as KeyState;
    expect(kids(back)).toEqual(kids(s));
    expect(decodeKeyState("{")).toEqual({ error: "not JSON" });
    expect(decodeKeyState(JSON.stringify({ v: 2 }))).toHaveProperty("error");
    expect(decodeKeyState(JSON.stringify({ ...JSON.parse(text), installed: ["AAAA"] }))).toHaveProperty("error");
    expect(decodeKeyState(JSON.stringify({ ...JSON.parse(text), extra: 1 }))).toHaveProperty("error");
  });

  test("the store: written 0600 only once something changed at run time, merged at the next start", () => {
    const dir = mkdtempSync(join(tmpdir(), "dsef-keys-"));
    const path = join(dir, KEY_STATE_FILE);
    const ring = new Keyring();
    const store = new KeyStore(ring, [OLD], dir);
    expect(() => statSync(path)).toThrow();
    expect(ring.sendKey?.kid).toBe(OLD.kid);
    expect(store.install(NEW)).toEqual({ ok: true, changed: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    store.use(NEW.kid);
    store.remove(OLD.kid);
    expect(store.view()).toEqual({ accepted: [NEW.kid], sending: NEW.kid });
    // A restart with the same configuration: the rotation stands.
    const again = new Keyring();
    new KeyStore(again, [OLD], dir);
    expect(again.all().map((k) => k.kid)).toEqual([NEW.kid]);
    expect(again.sendKey?.kid).toBe(NEW.kid);
    // Readable by others, or not a key state: a clear refusal at start.
    chmodSync(path, 0o644);
    expect(() => new KeyStore(new Keyring(), [OLD], dir)).toThrow(UsageError);
    chmodSync(path, 0o600);
    writeFileSync(path, "nonsense");
    expect(() => new KeyStore(new Keyring(), [OLD], dir)).toThrow(/move it away/);
  });
});

describe("between members", () => {
  test("a key sealed for one member opens there only, under a key it holds", () => {
    const ring = new Keyring([OLD]);
    const sealed = sealKeyFor(ring, "10.0.0.2:5000", NEW)!;
    expect(sealed.kid).toBe(OLD.kid);
    expect(sealed.keys).not.toContain(NEW.material.toString("base64"));
    expect(openSealedKey(ring, "10.0.0.2:5000", sealed)?.kid).toBe(NEW.kid);
    expect(openSealedKey(ring, "10.0.0.3:5000", sealed)).toBeUndefined();
    expect(openSealedKey(new Keyring([THIRD]), "10.0.0.2:5000", sealed)).toBeUndefined();
  });

  test("the operator's order relayed to a member: good for that node, that body, a minute, that token", () => {
    let now = 1_000_000;
    const api = new ApiAuth("keys-test-operator-token-01234", () => now);
    const body = JSON.stringify({ op: "use", kid: NEW.kid });
    const h = api.order("10.0.0.2:5000", body);
    expect(api.isOrder(h, "10.0.0.2:5000", body)).toBe(true);
    expect(api.isOrder(h, "10.0.0.3:5000", body)).toBe(false);
    expect(api.isOrder(h, "10.0.0.2:5000", body.replace("use", "remove"))).toBe(false);
    expect(new ApiAuth("another-operator-token-0123456", () => now).isOrder(h, "10.0.0.2:5000", body)).toBe(false);
    expect(api.isOrder(null, "10.0.0.2:5000", body)).toBe(false);
    now += 61_000;
    expect(api.isOrder(h, "10.0.0.2:5000", body)).toBe(false);
  });

  test("the report: per key held by, sent with, missing where; use and remove refused while unsafe", () => {
    const views = [
      { id: "a", name: "a", accepted: [OLD.kid, NEW.kid], sending: NEW.kid },
      { id: "b", name: "b", accepted: [OLD.kid, NEW.kid], sending: OLD.kid },
      { id: "c", name: "c", accepted: [OLD.kid], sending: OLD.kid },
    ];
    const r = keysReport(views, [{ id: "d", name: "d", why: "unreachable" }]);
    expect(r.members).toBe(4);
    expect(r.keys).toEqual([
      { kid: OLD.kid, held_by: 3, sending: 2, missing: [] },
      { kid: NEW.kid, held_by: 2, sending: 1, missing: ["c"] },
    ]);
    expect(useBlocker(views, [], NEW.kid)).toContain("not held by c");
    expect(removeBlocker(views, [], OLD.kid)).toContain("still used by b, c");
    const moved = views.map((v) => ({ ...v, accepted: [OLD.kid, NEW.kid], sending: NEW.kid }));
    expect(useBlocker(moved, [], NEW.kid)).toBeUndefined();
    expect(removeBlocker(moved, [], OLD.kid)).toBeUndefined();
    expect(removeBlocker(moved, [{ id: "d", name: "d", why: "x" }], OLD.kid)).toContain("cannot tell whether d");
    expect(removeBlocker([{ id: "a", name: "a", accepted: [OLD.kid], sending: null }], [], OLD.kid)).toContain("only key");
  });
});
