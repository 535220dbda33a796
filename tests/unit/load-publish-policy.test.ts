import { describe, expect, test } from "bun:test";
import { PeerLoads } from "../../src/load/peer-loads.ts";
import { shouldPublish } from "../../src/load/publish-policy.ts";
import type { Member } from "../../src/membership/types.ts";

describe("load publishing", () => {
  test("the first figure is always published (idle too); later ones when the backlog moved", () => {
    expect(shouldPublish(0, undefined, 100)).toBe(true);
    expect(shouldPublish(500, undefined, 100)).toBe(true);
    expect(shouldPublish(560, { backlog: 500, at: 0 }, 100)).toBe(false);
    expect(shouldPublish(650, { backlog: 500, at: 0 }, 100)).toBe(true);
    // Drained: peers must learn it (they do not assume draining).
    expect(shouldPublish(0, { backlog: 500, at: 0 }, 100)).toBe(true);
  });
});

describe("PeerLoads", () => {
  const member = (id: string, backlog: number, version: number, state: Member["state"] = "alive"): Member => ({
    info: { id, name: id, gossip: `${id}:1`, http: `${id}:2`, capacity: 1000 },
    state,
    incarnation: 1,
    changedAt: 0,
    load: { version, backlog },
  });

  test("a figure plus what we forwarded since; a newer figure replaces both", () => {
    let now = 0;
    const p = new PeerLoads(undefined, () => now);
    const ms = [member("a", 2000, 1)];
    expect(p.candidates(ms, "self")[0]!.ratio).toBe(2);
    p.sent("a", 1000);
    expect(p.candidates(ms, "self")[0]!.ratio).toBe(3);
    now += 3000; // 3 s at capacity 1000: all 3000 units could be done
    expect(p.candidates([member("a", 100, 2)], "self")[0]!.ratio).toBe(0.1);
    expect(p.floored).toBe(0);
  });

  test("a claimed backlog below what capacity allows is raised to the floor (no 'backlog 0' after every packet)", () => {
    let now = 0;
    const p = new PeerLoads(undefined, () => now);
    expect(p.candidates([member("a", 0, 1)], "self")[0]!.ratio).toBe(0);
    p.sent("a", 4000); // 4 s of work at capacity 1000
    now += 1000;
    // 1 s later it says it is idle: it can have done at most 1000 units.
    expect(p.candidates([member("a", 0, 2)], "self")[0]!.ratio).toBe(3);
    expect(p.floored).toBe(1);
    // A claim above the floor is taken as it is (others forward to it too).
    now += 500;
    expect(p.candidates([member("a", 5000, 3)], "self")[0]!.ratio).toBe(5);
    expect(p.floored).toBe(1);
  });

  test("only alive members other than self are candidates", () => {
    const p = new PeerLoads();
    const ms = [member("self", 0, 1), member("s", 0, 1, "suspect"), member("d", 0, 1, "dead"), member("ok", 0, 1)];
    expect(p.candidates(ms, "self").map((c) => c.id)).toEqual(["ok"]);
  });
});
