/**
 * A secured cluster in the deterministic simulator: every datagram on the simulated network is
 * sealed with the cluster key and every self-claim is signed by its node's Ed25519 key, checked
 * by the same node driver a real node runs. A failing seed replays exactly.
 */
import { describe, expect, test } from "bun:test";
import { signAlive } from "../../src/identity/claims.ts";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { generateIdentity } from "../../src/identity/node-identity.ts";
import { AeadGuard } from "../../src/identity/packet-guard.ts";
import type { Message } from "../../src/membership/types.ts";
import { SimCluster } from "../../src/sim/sim-cluster.ts";
import { encodeMessage } from "../../src/wire/codec.ts";

const KEY = "sim-cluster-key-0123456789";

describe("simulation: secured cluster", () => {
  test("20 nodes join one by one, detect a crash and a leave; every datagram sealed, every claim verified", () => {
    // One join every 150 ms: within the default admission rate (8 new identities a second), so no
    // claim is held back; faster joins are admitted at that rate (byzantine tests).
    const c = new SimCluster({ n: 20, seed: 4001, joinSpreadMs: 150, clusterKey: KEY });
    // Node ids are key fingerprints, not n0, n1, ...
    expect(c.idOf(0)).toMatch(/^[0-9a-f]{16}$/);
    expect(c.runUntil(() => c.upNodes().every((o) => c.allSee(o, "alive")), 30_000)).toBeDefined();

    c.crash(7);
    expect(c.runUntil(() => c.allSee(7, "dead"), 15_000, 10)).toBeDefined();
    c.leave(11);
    expect(c.runUntil(() => c.upNodes().every((o) => o === 11 || c.stateOf(o, 11) === "left"), 2_000, 10)).toBeDefined();

    const drivers = c.nodes.map((n) => n.driver);
    // Everything sent went out sealed and came in authenticated: no drops of any kind.
    expect(drivers.reduce((s, d) => s + d.stats.packetsOut, 0)).toBeGreaterThan(500);
    for (const d of drivers) expect(Object.values(d.stats.drops).every((x) => x === 0)).toBe(true);
    // Alive claims travelled signed and were verified; none was refused.
    const claims = c.nodes.map((n) => n.claimStats()!);
    expect(claims.reduce((s, x) => s + x.verified, 0)).toBeGreaterThan(20 * 19);
    for (const x of claims) expect(Object.values(x.rejected).every((r) => r === 0)).toBe(true);
  }, 60_000);

  test("an outsider's datagrams and an insider's forged claim never reach the core", () => {
    const c = new SimCluster({ n: 10, seed: 4002, preload: true, clusterKey: KEY });
    c.run(5_000);
    const victim = c.nodes[2]!;
    const target = c.idOf(5);
    const before = victim.swim.member(target)!;
    const incarnation = before.incarnation;
    const forged = (inc: number): Message => ({
      type: "gossip",
      from: c.idOf(9),
      updates: [{ kind: "alive", incarnation: inc, info: { ...before.info, capacity: 1 }, proof: signAlive(generateIdentity(), inc, before.info) }],
    });
    const source = c.nodes[9]!.info.gossip;

    // Outsiders: plaintext, and sealed under a key the cluster does not hold.
    victim.driver.receive(source, encodeMessage(forged(incarnation + 1)));
    const stranger = new AeadGuard(new Keyring([keyFromSecret("not-the-cluster-key-at-all")]), 60, () => c.now);
    victim.driver.receive(source, stranger.seal(encodeMessage(forged(incarnation + 1))));
    expect(victim.driver.stats.drops.unauthenticated).toBe(2);

    // An insider (holds the cluster key) claims to speak for node 5 with someone else's key.
    const insider = new AeadGuard(new Keyring([keyFromSecret(KEY)]), 60, () => c.now);
    victim.driver.receive(source, insider.seal(encodeMessage(forged(incarnation + 1))));
    expect(victim.claimStats()!.rejected.wrongKey).toBe(1);
    const after = victim.swim.member(target)!;
    expect(after.incarnation).toBe(incarnation);
    expect(after.info.capacity).toBe(1000);
    c.run(5_000);
  });

  test("the same seed replays the same secured run", () => {
    const trace = (seed: number) => {
      const c = new SimCluster({ n: 12, seed, joinSpreadMs: 50, clusterKey: KEY, network: { loss: 0.1 } });
      const out: string[] = [];
      c.onEvent(({ observer, event }) => out.push(`${c.now.toFixed(3)} ${observer} ${event.type} ${event.member.info.id}@${event.member.incarnation}`));
      c.run(10_000);
      c.pause(4);
      c.run(20_000);
      return out;
    };
    const a = trace(4003);
    expect(a.length).toBeGreaterThan(50);
    expect(trace(4003)).toEqual(a);
  }, 30_000);
});
