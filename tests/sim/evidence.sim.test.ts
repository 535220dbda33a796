/**
 * The evidence the core produces (`dsef why`), under the deterministic simulator with the
 * invariant checker after every step: the chain for a stalled member and for a crashed one, the
 * same evidence for the same seed, and the operator's force-leave and forget (a live member
 * refutes its force-leave; a pruned one is gone everywhere).
 */
import { describe, expect, test } from "bun:test";
import type { Evidence } from "../../src/membership/types.ts";
import { SimCluster } from "../../src/sim/sim-cluster.ts";

/** Every piece of evidence each node produced, by observer. */
function record(c: SimCluster): Evidence[][] {
  const seen: Evidence[][] = c.nodes.map(() => []);
  for (const n of c.nodes) n.driver.onEvidence((e) => seen[n.index]!.push(e));
  return seen;
}

const about = (seen: Evidence[][], observer: number, id: string) => seen[observer]!.filter((e) => e.member === id);

describe("simulation: evidence about members", () => {
  test("a stalled member: ack timeouts with the relays asked, nacks, silent HTTP checks, a stalled relay named silent, suspicion, then dead", () => {
    const c = new SimCluster({ n: 8, seed: 4242, preload: true, clusterKey: "evidence-sim-cluster-key-0123456789" });
    const seen = record(c);
    c.run(10_000);
    expect(seen.flat()).toEqual([]); // a healthy cluster makes none
    c.pause(3);
    c.pause(5);
    expect(c.runUntil(() => c.allSee(3, "dead") && c.allSee(5, "dead"), 30_000)).toBeDefined();
    const victim = c.idOf(3);
    const stalledRelay = c.idOf(5);
    for (const o of c.upNodes()) {
      const story = about(seen, o, victim);
      const kinds = story.map((e) => e.kind);
      expect(kinds).toContain("suspect");
      expect(kinds.at(-1)).toBe("dead");
      // No connection was refused: a stalled process only ever times out.
      expect(story.some((e) => e.detail?.includes("refused"))).toBe(false);
    }
    const all = c.upNodes().flatMap((o) => about(seen, o, victim).map((e) => ({ ...e, observer: c.idOf(o) })));
    const own = all.filter((e) => e.by === e.observer);
    expect(own.some((e) => e.kind === "ack-timeout" && (e.relays?.length ?? 0) > 0)).toBe(true);
    expect(all.some((e) => e.kind === "nack" && e.by !== e.observer && e.detail === "no ack")).toBe(true);
    expect(own.filter((e) => e.kind === "http").every((e) => e.detail === "silent")).toBe(true);
    // The other stalled node, asked as a relay, sent no nack: it is named as a silent relay.
    expect(own.some((e) => e.kind === "probe-failed" && e.relays?.includes(stalledRelay))).toBe(true);
    // Somebody's own probe raised the suspicion, and somebody's own timer ended it, with its length.
    expect(own.some((e) => e.kind === "suspect" && e.detail === "probe timeout")).toBe(true);
    const dead = own.filter((e) => e.kind === "dead" && e.detail === "suspicion timeout");
    expect(dead.length).toBeGreaterThan(0);
    for (const d of dead) expect(d.suspectedMs!).toBeGreaterThanOrEqual(c.timing.probeIntervalMs);
  });

  test("a crashed member: refused HTTP checks, a relay's refused nack, and death at once", () => {
    const c = new SimCluster({ n: 6, seed: 99, preload: true });
    const seen = record(c);
    c.run(5000);
    c.crash(2);
    expect(c.runUntil(() => c.allSee(2, "dead"), 10_000, 10)).toBeDefined();
    const all = c.upNodes().flatMap((o) => about(seen, o, c.idOf(2)).map((e) => ({ ...e, observer: c.idOf(o) })));
    expect(all.some((e) => e.kind === "http" && e.detail === "refused")).toBe(true);
    expect(all.some((e) => e.kind === "nack" && e.detail === "no ack, and its HTTP port refused the connection")).toBe(true);
    const killer = all.find((e) => e.kind === "dead" && e.by === e.observer)!;
    expect(killer.detail).toBe("connection refused");
    expect(killer.suspectedMs).toBe(0);
  });

  test("the same seed gives the same evidence", () => {
    const story = () => {
      const c = new SimCluster({ n: 10, seed: 7, preload: true, network: { loss: 0.05 } });
      const seen = record(c);
      c.run(5000);
      c.pause(4);
      c.run(8000);
      c.resume(4);
      c.run(3000);
      return JSON.stringify(seen);
    };
    const first = story();
    expect(first.length).toBeGreaterThan(100);
    expect(story()).toBe(first);
  });
});

describe("simulation: force-leave and forget", () => {
  test("force-left while stalled, the member refutes once it runs again and is alive everywhere; invariants hold throughout", () => {
    const c = new SimCluster({ n: 6, seed: 31, preload: true, clusterKey: "force-leave-sim-cluster-key-0123456789" });
    const seen = record(c);
    c.run(5000);
    c.pause(1);
    expect(c.runUntil(() => c.allSee(1, "dead"), 20_000)).toBeDefined();
    const id = c.idOf(1);
    for (const o of c.upNodes()) c.nodes[o]!.driver.dispatch({ type: "force-leave", id });
    expect(c.allSee(1, "left")).toBe(true);
    for (const o of c.upNodes()) expect(c.nodes[o]!.swim.inspectMember(id)!.forced).toBe(true);
    // Nobody retries it, and anti-entropy does not bring it back while it is silent.
    c.run(30_000);
    expect(c.allSee(1, "left")).toBe(true);
    c.resume(1);
    expect(c.runUntil(() => c.allSee(1, "alive"), 10_000)).toBeDefined();
    expect(seen[1]!.some((e) => e.member === id && e.kind === "refuted")).toBe(true);
    expect(seen[0]!.filter((e) => e.member === id).map((e) => e.kind)).toContain("rejoined");
  });

  test("a crashed member force-left and forgotten is gone from every table and stays gone", () => {
    const c = new SimCluster({ n: 6, seed: 32, preload: true });
    c.run(5000);
    c.crash(4);
    expect(c.runUntil(() => c.allSee(4, "dead"), 10_000)).toBeDefined();
    const id = c.idOf(4);
    for (const o of c.upNodes()) {
      c.nodes[o]!.driver.dispatch({ type: "force-leave", id });
      c.nodes[o]!.driver.dispatch({ type: "forget", id });
    }
    c.run(60_000);
    for (const o of c.upNodes()) expect(c.nodes[o]!.swim.member(id)).toBeUndefined();
  });
});
