/**
 * Smaller holes an insider could use: a datagram captured on its way to one node replayed to
 * another (or to the same node after it restarted), and the tables that remember senders,
 * /sync nonces and learned keys filled so that they refuse or forget what matters.
 */
import { describe, expect, test } from "bun:test";
import { KeyRotation, newRotationKey } from "../../src/identity/key-rotation.ts";
import { Keyring, keyFromSecret, randomClusterKey } from "../../src/identity/keyring.ts";
import { AeadGuard } from "../../src/identity/packet-guard.ts";
import { AUTH_HEADER, KEYS_HEADER, SyncAuth } from "../../src/identity/sync-auth.ts";

const SECRET = "insider-tables-test-secret-0001";
const ring = () => new Keyring([keyFromSecret(SECRET)]);
const payload = new TextEncoder().encode("a datagram");
const B = { id: "00000000000000bb", incarnation: 1_700_000_000 };
const C = { id: "00000000000000cc", incarnation: 1_700_000_000 };

describe("datagrams are bound to their destination", () => {
  test("a datagram sealed to one node is refused by another", () => {
    const a = new AeadGuard(ring());
    const b = new AeadGuard(ring());
    b.bindTo(B.id, B.incarnation);
    const c = new AeadGuard(ring());
    c.bindTo(C.id, C.incarnation);
    const toB = a.seal(payload, B);
    expect(c.open(toB)).toBe("replayed");
    expect(c.stats.refused.misdirected).toBe(1);
    expect(b.open(toB)).not.toBeTypeOf("string");
  });

  test("a datagram captured before a restart is refused after it; a sender that missed the restart is not", () => {
    let now = 1_700_000_100_000;
    const clock = () => now;
    const a = new AeadGuard(ring(), 60, clock);
    const captured = a.seal(payload, B);
    now += 5000; // B restarts: a new process, a higher start incarnation, empty windows
    const b2 = new AeadGuard(ring(), 60, clock);
    b2.bindTo(B.id, B.incarnation + 105);
    expect(b2.open(captured)).toBe("replayed");
    expect(b2.stats.refused.restarted).toBe(1);
    // Sent after the restart by a node that still lists B's old incarnation: accepted.
    expect(b2.open(a.seal(payload, B))).not.toBeTypeOf("string");
    expect(b2.open(a.seal(payload, { id: B.id, incarnation: B.incarnation + 105 }))).not.toBeTypeOf("string");
  });

  test("a datagram with no known destination (a reply to a stranger) is accepted and counted", () => {
    const b = new AeadGuard(ring());
    b.bindTo(B.id, B.incarnation);
    expect(b.open(new AeadGuard(ring()).seal(payload))).not.toBeTypeOf("string");
    expect(b.stats.unbound).toBe(1);
  });
});

describe("tables an insider could fill", () => {
  test("sender epochs: a flood of new epochs evicts the oldest, yet never opens the door to replays", () => {
    let now = 1_700_000_000_000;
    const clock = () => now;
    const receiver = new AeadGuard(ring(), 60, clock, 8);
    receiver.bindTo(B.id, B.incarnation);
    const honest = new AeadGuard(ring(), 60, clock);
    const early = honest.seal(payload, B);
    expect(receiver.open(early)).not.toBeTypeOf("string");
    // The insider: 100 processes' worth of epochs in one second. Once the table is full, each
    // new one pushes out the least recently used, and the rest of that second is closed to them.
    const flood = Array.from({ length: 100 }, () => receiver.open(new AeadGuard(ring(), 60, clock).seal(payload, B)));
    expect(flood.filter((x) => typeof x !== "string").length).toBeGreaterThanOrEqual(8);
    expect(receiver.epochs).toBeLessThanOrEqual(8);
    // The honest sender's window was forgotten: its old datagram must still not open.
    expect(receiver.open(early)).toBe("replayed");
    // A new sender (a restart) a second later gets in: the table is never closed to newcomers.
    now += 1000;
    expect(receiver.open(new AeadGuard(ring(), 60, clock).seal(payload, B))).not.toBeTypeOf("string");
    expect(receiver.open(honest.seal(payload, B))).not.toBeTypeOf("string");
  });

  test("sync nonces: bounded; an evicted nonce's request is still refused; fresh requests pass", () => {
    let now = 1_700_000_000_000;
    const clock = () => now++;
    const client = new SyncAuth(ring(), false, 60_000, clock);
    const server = new SyncAuth(ring(), false, 60_000, clock, 100);
    const body = "{}";
    const first = client.sign(body).headers[AUTH_HEADER]!;
    expect(server.check(first, body, null)).toMatchObject({ ok: true });
    for (let i = 0; i < 300; i++) expect(server.check(client.sign(body).headers[AUTH_HEADER]!, body, null)).toMatchObject({ ok: true });
    expect(server.nonces).toBeLessThanOrEqual(100);
    expect(server.check(first, body, null)).toMatchObject({ ok: false, status: 401 });
  });

  test("learned keys: junk keys cannot push out the keys in use or the configured ones", () => {
    const configured = keyFromSecret(SECRET);
    const r = new Keyring([configured]);
    const inUse = randomClusterKey();
    r.add([inUse]);
    for (let i = 0; i < 100; i++) {
      r.add([randomClusterKey(), randomClusterKey()]);
      r.get(inUse.kid); // traffic under the learned key keeps it
    }
    expect(r.size).toBeLessThanOrEqual(16);
    expect(r.get(configured.kid)).toBeDefined();
    expect(r.get(inUse.kid)).toBeDefined();
    // A key learned after the flood is held too.
    const late = randomClusterKey();
    r.add([late]);
    expect(r.get(late.kid)).toBeDefined();
  });

  test("CA mode: a sync that carries 16 junk keys does not push out the key in use", () => {
    const shared = randomClusterKey();
    const serverRing = new Keyring();
    serverRing.setSend(shared);
    const theirs = randomClusterKey();
    serverRing.add([theirs]);
    serverRing.get(theirs.kid); // the other half of the cluster sends under it
    const server = new SyncAuth(serverRing, true);
    for (let i = 0; i < 10; i++) {
      const junk = new Keyring([shared, ...Array.from({ length: 15 }, () => randomClusterKey())]);
      const { headers } = new SyncAuth(junk, true).sign("{}");
      expect(server.check(headers[AUTH_HEADER]!, "{}", headers[KEYS_HEADER]!)).toMatchObject({ ok: true });
      serverRing.get(theirs.kid);
    }
    expect(serverRing.get(shared.kid)).toBeDefined();
    expect(serverRing.get(theirs.kid)).toBeDefined();
    expect(serverRing.sendKey!.kid).toBe(shared.kid);
  });
});

describe("gossip key rotation (CA mode)", () => {
  test("the newest key sends once settled; older keys go once it has sent long enough; rotated keys never ride on /sync", () => {
    let now = 1_700_000_000_000;
    const founding = randomClusterKey();
    const r = new Keyring();
    r.setSend(founding);
    const rotation = new KeyRotation(r, () => now, 5000, 30_000);
    const fresh = rotation.start();
    expect(r.sendKey!.kid).toBe(founding.kid);
    now += 5000;
    expect(rotation.step()).toMatch(/sending with key id/);
    expect(r.sendKey!.kid).toBe(fresh.kid);
    now += 29_000;
    rotation.step();
    expect(r.get(founding.kid)).toBeDefined();
    now += 1000;
    expect(rotation.step()).toMatch(/dropped key id/);
    expect(r.get(founding.kid)).toBeUndefined();
    expect(r.all().map((k) => k.kid)).toEqual([fresh.kid]);

    // A sync carries the founding keys only: a removed member holding the old key learns nothing new.
    const both = new Keyring([founding]);
    both.add([newRotationKey(now)]);
    const serverRing = new Keyring([founding]);
    const { headers } = new SyncAuth(both, true).sign("{}");
    expect(new SyncAuth(serverRing, true).check(headers[AUTH_HEADER]!, "{}", headers[KEYS_HEADER]!)).toMatchObject({ ok: true });
    expect(serverRing.size).toBe(1);
  });
});
