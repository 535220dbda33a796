import { describe, expect, test } from "bun:test";
import { PeerLoads } from "../../src/load/peer-loads.ts";
import { expectedByPeers, shouldPublish } from "../../src/load/publish-policy.ts";
import type { Member } from "../../src/membership/types.ts";

describe("load publishing", () => {
  test("an idle node never publishes; a loaded one does, once", () => {
    expect(shouldPublish(0, undefined, 1000, 0, 100)).toBe(false);
    expect(shouldPublish(500, undefined, 1000, 0, 100)).toBe(true);
    // Published 500 at t=0: peers expect it to drain to 0 by t=500 ms.
    expect(expectedByPeers({ backlog: 500, at: 0 }, 1000, 250)).toBe(250);
    expect(shouldPublish(260, { backlog: 500, at: 0 }, 1000, 250, 100)).toBe(false);
    expect(shouldPublish(600, { backlog: 500, at: 0 }, 1000, 250, 100)).toBe(true);
    expect(shouldPublish(0, { backlog: 500, at: 0 }, 1000, 1000, 100)).toBe(false);
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

  test("a figure decays at the peer's capacity and grows with what we forwarded", () => {
    const p = new PeerLoads();
    const ms = [member("a", 2000, 1)];
    expect(p.candidates(0, ms, "self")[0]!.ratio).toBe(2);
    expect(p.candidates(500, ms, "self")[0]!.ratio).toBe(1.5);
    p.sent(500, "a", 1000, 1000);
    expect(p.candidates(500, ms, "self")[0]!.ratio).toBe(2.5);
    // Work sent later drains from when it was sent, not from when the figure arrived.
    p.sent(5000, "a", 1000, 1000);
    expect(p.candidates(5000, ms, "self")[0]!.ratio).toBe(1);
    // A new figure replaces the estimate.
    expect(p.candidates(600, [member("a", 100, 2)], "self")[0]!.ratio).toBe(0.1);
  });

  test("only alive members other than self are candidates", () => {
    const p = new PeerLoads();
    const ms = [member("self", 0, 1), member("s", 0, 1, "suspect"), member("d", 0, 1, "dead"), member("ok", 0, 1)];
    expect(p.candidates(0, ms, "self").map((c) => c.id)).toEqual(["ok"]);
  });
});
