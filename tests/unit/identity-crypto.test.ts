import { describe, expect, test } from "bun:test";
import { checkCertificate, issueCertificate, newAuthority } from "../../src/identity/certificate.ts";
import { ClaimGuard, signAlive, signLoad } from "../../src/identity/claims.ts";
import { Keyring, keyFromSecret, randomClusterKey } from "../../src/identity/keyring.ts";
import { fingerprintRaw, generateIdentity } from "../../src/identity/node-identity.ts";
import { AeadGuard } from "../../src/identity/packet-guard.ts";
import { ReplayWindow, WINDOW_BITS } from "../../src/identity/replay-window.ts";
import { unwrapKeys, wrapKeys } from "../../src/identity/wrap.ts";
import type { Member, NodeInfo, Update } from "../../src/membership/types.ts";

const secretA = "correct horse battery staple";
const secretB = "another secret of enough length";

describe("keyring", () => {
  test("a secret always derives the same key id; different secrets differ", () => {
    expect(keyFromSecret(secretA).kid).toBe(keyFromSecret(secretA).kid);
    expect(keyFromSecret(secretA).kid).not.toBe(keyFromSecret(secretB).kid);
    expect(() => keyFromSecret("short")).toThrow(/at least 16/);
  });
  test("first key sends, all are accepted; learned keys are bounded", () => {
    const r = new Keyring([keyFromSecret(secretA), keyFromSecret(secretB)]);
    expect(r.sendKey!.kid).toBe(keyFromSecret(secretA).kid);
    expect(r.get(keyFromSecret(secretB).kid)).toBeDefined();
    for (let i = 0; i < 40; i++) r.add([randomClusterKey()]);
    expect(r.size).toBe(16);
  });
});

describe("replay window", () => {
  test("fresh once, replays and too-old refused, reordering inside the window accepted", () => {
    const w = new ReplayWindow();
    const take = (n: number) => (w.check(n) ? (w.commit(n), true) : false);
    expect(take(5)).toBe(true);
    expect(take(5)).toBe(false);
    expect(take(3)).toBe(true);
    expect(take(3)).toBe(false);
    expect(take(5000)).toBe(true);
    expect(take(5000 - WINDOW_BITS + 1)).toBe(true);
    expect(take(5000 - WINDOW_BITS)).toBe(false);
    expect(take(4999)).toBe(true);
    expect(take(4999)).toBe(false);
  });
});

describe("AEAD packet guard", () => {
  const payload = new TextEncoder().encode("a SWIM datagram");
  test("round trip, tamper, replay, unknown key, stale", () => {
    const ring = new Keyring([keyFromSecret(secretA)]);
    const a = new AeadGuard(ring);
    const b = new AeadGuard(new Keyring([keyFromSecret(secretA)]));
    const sealed = a.seal(payload);
    expect(Buffer.from(b.open(sealed) as Uint8Array).toString()).toBe("a SWIM datagram");
    expect(b.open(sealed)).toBe("replayed");
    const s2 = a.seal(payload);
    for (const i of [0, 1, 6, 14, 18, 22, s2.byteLength - 1]) {
      const m = Buffer.from(s2);
      m[i]! ^= 0x01;
      expect(b.open(m)).toBe("unauthenticated");
    }
    expect(b.open(s2)).not.toBeTypeOf("string");
    expect(new AeadGuard(new Keyring([keyFromSecret(secretB)])).open(a.seal(payload))).toBe("unauthenticated");
    expect(b.open(new Uint8Array(10))).toBe("unauthenticated");
    const old = new AeadGuard(new Keyring([keyFromSecret(secretA)]), 60, () => Date.now() - 120_000);
    expect(b.open(old.seal(payload))).toBe("replayed");
    expect(b.stats.refused.stale).toBe(1);
  });
  test("rotation: a receiver that accepts both keys opens either", () => {
    const both = new AeadGuard(new Keyring([keyFromSecret(secretA), keyFromSecret(secretB)]));
    expect(both.open(new AeadGuard(new Keyring([keyFromSecret(secretA)])).seal(payload))).not.toBeTypeOf("string");
    expect(both.open(new AeadGuard(new Keyring([keyFromSecret(secretB)])).seal(payload))).not.toBeTypeOf("string");
  });
  test("no send key yet: seals to nothing", () => {
    expect(new AeadGuard(new Keyring()).seal(payload).byteLength).toBe(0);
  });
});

describe("key wrapping", () => {
  test("only the right key and context open it", () => {
    const k = keyFromSecret(secretA).wrap;
    const keys = [randomClusterKey().material, randomClusterKey().material];
    const w = wrapKeys(k, keys, "ctx");
    expect(unwrapKeys(k, w, "ctx")!.map((x) => x.toString("hex"))).toEqual(keys.map((x) => x.toString("hex")));
    expect(unwrapKeys(k, w, "other")).toBeUndefined();
    expect(unwrapKeys(keyFromSecret(secretB).wrap, w, "ctx")).toBeUndefined();
    expect(unwrapKeys(k, "garbage!", "ctx")).toBeUndefined();
  });
});

describe("self-claims", () => {
  const alice = generateIdentity();
  const mallory = generateIdentity();
  const info: NodeInfo = { id: alice.id, name: "alice", gossip: "127.0.0.1:1", http: "127.0.0.1:1", capacity: 100 };
  const table = new Map<string, Member>();
  const guard = () =>
    new ClaimGuard(
      generateIdentity(),
      (id) => table.get(id),
      () => {},
    );

  test("fingerprint of the raw key is the node id", () => {
    expect(fingerprintRaw(alice.publicKeyRaw)).toBe(alice.id);
  });
  test("a signed alive passes; unsigned, foreign-signed and altered ones do not", () => {
    const g = guard();
    const good: Update = { kind: "alive", incarnation: 7, info, proof: signAlive(alice, 7, info) };
    const unsigned: Update = { kind: "alive", incarnation: 8, info };
    const foreign: Update = { kind: "alive", incarnation: 8, info, proof: signAlive(mallory, 8, info) };
    const altered: Update = { kind: "alive", incarnation: 8, info: { ...info, capacity: 1e6 }, proof: signAlive(alice, 8, info) };
    const stolen = new Uint8Array(signAlive(alice, 7, info));
    stolen.set(signAlive(mallory, 9, info).subarray(32), 32);
    const spliced: Update = { kind: "alive", incarnation: 9, info, proof: stolen };
    expect(g.admitUpdates([good, unsigned, foreign, altered, spliced])).toEqual([good]);
    expect(g.stats.rejected).toMatchObject({ unsigned: 1, wrongKey: 1, badSignature: 2 });
  });
  test("load claims verify with the key learned from the alive claim", () => {
    const g = guard();
    const load = { version: 5, backlog: 10 };
    const signedLoad: Update = { kind: "load", id: alice.id, load, proof: signLoad(alice, load) };
    expect(g.admitUpdates([signedLoad])).toEqual([]);
    expect(g.stats.rejected.unknownKey).toBe(1);
    g.admitUpdates([{ kind: "alive", incarnation: 1, info, proof: signAlive(alice, 1, info) }]);
    expect(g.admitUpdates([signedLoad])).toEqual([signedLoad]);
    const forgedLoad: Update = { kind: "load", id: alice.id, load: { version: 6, backlog: 0 }, proof: signLoad(mallory, { version: 6, backlog: 0 }) };
    expect(g.admitUpdates([forgedLoad])).toEqual([]);
  });
  test("a second live address for one identity is refused", () => {
    const g = guard();
    table.set(alice.id, { info, state: "alive", incarnation: 1, changedAt: 0 });
    const elsewhere = { ...info, gossip: "127.0.0.2:1" };
    expect(g.admitUpdates([{ kind: "alive", incarnation: 2, info: elsewhere, proof: signAlive(alice, 2, elsewhere) }])).toEqual([]);
    expect(g.stats.rejected.identityConflict).toBe(1);
    table.set(alice.id, { info, state: "dead", incarnation: 1, changedAt: 0 });
    expect(g.admitUpdates([{ kind: "alive", incarnation: 2, info: elsewhere, proof: signAlive(alice, 2, elsewhere) }])).toHaveLength(1);
    table.clear();
  });
  test("outbound: only this node's own claims get signed", () => {
    const g = new ClaimGuard(
      alice,
      () => undefined,
      () => {},
    );
    const m = g.signMessage({
      type: "gossip",
      from: alice.id,
      updates: [
        { kind: "alive", incarnation: 3, info },
        { kind: "suspect", id: "x", incarnation: 1, from: alice.id },
      ],
    });
    expect(m.type === "gossip" && m.updates[0]!.kind === "alive" && m.updates[0]!.proof?.byteLength).toBe(96);
    expect(guard().admitUpdates((m as { updates: readonly Update[] }).updates)).toHaveLength(2);
  });
});

describe("certificates", () => {
  const { authority } = newAuthority();
  const other = newAuthority().authority;
  const node = generateIdentity();
  const now = Date.now() / 1000;
  test("valid, other CA, expired, another key, tampered", () => {
    const cert = issueCertificate(authority, node.publicKeyRaw, "n1", now + 3600);
    expect(checkCertificate(cert, authority.publicKeyRaw, node.publicKeyRaw, now)).toEqual({ ok: true, name: "n1" });
    expect(checkCertificate(issueCertificate(other, node.publicKeyRaw, "n1", now + 3600), authority.publicKeyRaw, node.publicKeyRaw, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/another authority/),
    });
    expect(checkCertificate(issueCertificate(authority, node.publicKeyRaw, "n1", now - 1), authority.publicKeyRaw, node.publicKeyRaw, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/expired/),
    });
    expect(checkCertificate(cert, authority.publicKeyRaw, generateIdentity().publicKeyRaw, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/another node key/),
    });
    expect(checkCertificate({ ...cert, expires: cert.expires + 10 ** 6 }, authority.publicKeyRaw, node.publicKeyRaw, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/signature/),
    });
    expect(checkCertificate({ v: 1 }, authority.publicKeyRaw, node.publicKeyRaw, now)).toMatchObject({ ok: false });
  });
});
