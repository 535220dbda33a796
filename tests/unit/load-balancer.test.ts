import { describe, expect, test } from "bun:test";
import { type Candidate, pickTwoChoices, rankCandidates, weightedDraw } from "../../src/load/balancer.ts";
import { route } from "../../src/load/router.ts";
import { seededRandom } from "../../src/util/random.ts";

const c = (id: string, capacity: number, ratio = 0): Candidate => ({ id, http: `127.0.0.1:${id}`, capacity, ratio });

function counts(n: number, pick: () => Candidate | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const p = pick()!;
    m.set(p.id, (m.get(p.id) ?? 0) + 1);
  }
  return m;
}

describe("capacity-weighted two choices", () => {
  test("with equal loads the choice is proportional to capacity", () => {
    const rnd = seededRandom(1);
    const cands = [c("a", 1000), c("b", 500), c("c", 500)];
    const m = counts(40_000, () => pickTwoChoices(cands, rnd));
    expect(m.get("a")! / 40_000).toBeCloseTo(0.5, 1);
    expect(m.get("b")! / 40_000).toBeCloseTo(0.25, 1);
  });

  test("prefers the less loaded of the two draws", () => {
    const rnd = seededRandom(2);
    const cands = [c("busy", 1000, 3), c("idle", 1000, 0)];
    const m = counts(10_000, () => pickTwoChoices(cands, rnd));
    // The busy one wins only when both draws are it: 1/4 of the time.
    expect(m.get("busy")! / 10_000).toBeCloseTo(0.25, 1);
  });

  test("empty and zero-capacity lists choose nothing", () => {
    expect(pickTwoChoices([], Math.random)).toBeUndefined();
    expect(weightedDraw([{ capacity: 0 }], Math.random)).toBeUndefined();
  });

  test("rankCandidates gives distinct members", () => {
    const ranked = rankCandidates([c("a", 1), c("b", 1), c("c", 1)], 2, seededRandom(3));
    expect(ranked).toHaveLength(2);
    expect(ranked[0]!.id).not.toBe(ranked[1]!.id);
  });
});

describe("route", () => {
  const policy = { forwardAbove: 0.5, margin: 0.25, maxBacklog: 5 };
  const random = seededRandom(4);

  test("keeps the work while the node has room", () => {
    expect(route({ hop: 0, ownRatio: 0.4, peers: () => [c("a", 1000, 0)], policy, random }).kind).toBe("local");
  });

  test("forwards to a clearly less loaded peer, with a second candidate to fall back on", () => {
    const r = route({ hop: 0, ownRatio: 2, peers: () => [c("a", 1000, 0.1), c("b", 1000, 0.2)], policy, random });
    expect(r.kind).toBe("forward");
    if (r.kind === "forward") expect(r.targets).toHaveLength(2);
  });

  test("keeps the work when no peer is clearly better", () => {
    expect(route({ hop: 0, ownRatio: 2, peers: () => [c("a", 1000, 1.9)], policy, random }).kind).toBe("local");
    // Clearly = by the fixed margin and by a quarter of our own load.
    expect(route({ hop: 0, ownRatio: 2, peers: () => [c("a", 1000, 1.6)], policy, random }).kind).toBe("local");
    expect(route({ hop: 0, ownRatio: 2, peers: () => [c("a", 1000, 1.4)], policy, random }).kind).toBe("forward");
  });

  test("a forwarded packet is never forwarded again (hop limit)", () => {
    expect(route({ hop: 1, ownRatio: 4, peers: () => [c("a", 1000, 0)], policy, random }).kind).toBe("local");
    expect(route({ hop: 1, ownRatio: 6, peers: () => [c("a", 1000, 0)], policy, random }).kind).toBe("reject");
  });

  test("saturated but a peer has room: forward even if not by the margin", () => {
    const r = route({ hop: 0, ownRatio: 5.1, peers: () => [c("a", 1000, 4.95)], policy, random });
    expect(r.kind).toBe("forward");
  });

  test("everyone saturated: reject with a Retry-After of at least 1 s", () => {
    const r = route({ hop: 0, ownRatio: 9, peers: () => [c("a", 1000, 7), c("b", 1000, 12)], policy, random });
    expect(r).toEqual({ kind: "reject", retryAfterS: 2 });
    expect(route({ hop: 0, ownRatio: 5.5, peers: () => [], policy, random })).toEqual({ kind: "reject", retryAfterS: 1 });
  });

  test("a lone node keeps everything up to the limit", () => {
    expect(route({ hop: 0, ownRatio: 4.9, peers: () => [], policy, random }).kind).toBe("local");
  });
  test("--prefer-tag: work stays among preferred peers; the others take it only when the site is full", () => {
    const site = { ...c("near", 1000, 1.2), preferred: true };
    const far = { ...c("far", 1000, 0), preferred: false };
    // The far peer is idle, but the near one is clearly lighter than us: the near one gets it.
    const r = route({ hop: 0, ownRatio: 2, peers: () => [site, far], policy, random });
    expect(r.kind === "forward" && r.targets.map((t) => t.id)).toEqual(["near"]);
    // No preferred peer clearly lighter, and room here: kept, not sent off site.
    expect(route({ hop: 0, ownRatio: 1.5, peers: () => [site, far], policy, random }).kind).toBe("local");
    // This node full and the site full: off site.
    const fullSite = { ...site, ratio: 6 };
    const off = route({ hop: 0, ownRatio: 5.5, peers: () => [fullSite, far], policy, random });
    expect(off.kind === "forward" && off.targets.map((t) => t.id)).toEqual(["far"]);
  });
});
