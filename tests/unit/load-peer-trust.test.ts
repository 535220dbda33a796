/** Peers' load claims within reason: capacity capped, accepted forwards audited against the peer's records. */
import { describe, expect, test } from "bun:test";
import type { AskOutcome, ForwardOutcome, PeerClient } from "../../src/load/peer-protocol.ts";
import { capacityLimit, PeerTrust } from "../../src/load/peer-trust.ts";
import { member, silentLog } from "../support/fake-peers.ts";

type Behaviour = "honest" | "forgets" | "yes-to-all" | "silent";

/** Peers that accept every forward and answer asks as their behaviour says. */
function peers(behaviours: Record<string, Behaviour>) {
  const kept = new Map<string, Set<string>>();
  const client: Pick<PeerClient, "forward" | "ask"> = {
    async forward(http, body): Promise<ForwardOutcome> {
      if (body.packet_id) (kept.get(http) ?? kept.set(http, new Set()).get(http)!).add(body.packet_id);
      return { kind: "accepted", reply: { status: "accepted", handled_by: http } };
    },
    async ask(http, id): Promise<AskOutcome> {
      switch (behaviours[http]) {
        case "honest":
          return kept.get(http)?.has(id) ? { kind: "seen", handledBy: http, pending: false } : { kind: "new" };
        case "yes-to-all":
          return { kind: "seen", handledBy: http, pending: false };
        case "silent":
          return { kind: "silent" };
        default:
          return { kind: "new" };
      }
    },
  };
  return client as PeerClient;
}

const settle = () => new Promise((r) => setTimeout(r, 0));

async function forwardMany(client: PeerClient, http: string, n: number): Promise<ForwardOutcome[]> {
  const out: ForwardOutcome[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await client.forward(http, { processing_load: 1, packet_id: `${http}-${i}` }, 1, 100));
    await settle();
    await settle();
  }
  return out;
}

describe("peer trust", () => {
  test("a peer that keeps no record, or says yes to everything, is distrusted after two audits; an honest one never", async () => {
    let now = 0;
    const trust = new PeerTrust({ selfHttp: "me:1", maxCapacity: 1e4, askTimeoutMs: 100, log: silentLog, now: () => now });
    const client = trust.client(peers({ "h:1": "honest", "f:1": "forgets", "y:1": "yes-to-all", "s:1": "silent" }));
    const members = ["h:1", "f:1", "y:1", "s:1"].map((h) => member(h));
    trust.view(members, "me:1");
    for (const h of ["h:1", "f:1", "y:1", "s:1"]) {
      const outs = await forwardMany(client, h, 6);
      now += 2000;
      const withheld = outs.filter((o) => o.kind === "declined").length;
      expect(withheld).toBe(h === "f:1" || h === "y:1" ? 4 : 0);
    }
    expect(trust.view(members, "me:1").map((m) => m.info.http)).toEqual(["h:1", "s:1"]);
    expect(trust.stats.distrustedTotal).toBe(2);
    expect(trust.distrusted).toBe(2);
    expect(trust.stats.audits.inconclusive).toBeGreaterThan(0);
    // Distrust runs out.
    now += 600_001;
    expect(trust.view(members, "me:1")).toHaveLength(4);
  });

  test("capacity above the limit counts at the limit; our own row is untouched", () => {
    const trust = new PeerTrust({ selfHttp: "me:1", maxCapacity: 5000, askTimeoutMs: 100, log: silentLog });
    const view = trust.view([member("me:1", "alive", 1e9), member("big:1", "alive", 1e9), member("ok:1", "alive", 800)], "me:1");
    expect(view.map((m) => m.info.capacity)).toEqual([1e9, 5000, 800]);
    expect(trust.stats.capacityClamped).toBe(1);
  });

  test("the automatic limit: a small node counts a big honest peer in full, a phantom among equals at 10x the typical claim", () => {
    const trust = new PeerTrust({ selfHttp: "me:1", maxCapacity: 0, askTimeoutMs: 100, log: silentLog });
    // A gateway of capacity 10 next to a server of 1e6: the server is what it says.
    expect(trust.view([member("me:1", "alive", 10), member("big:1", "alive", 1e6)], "me:1").map((m) => m.info.capacity)).toEqual([10, 1e6]);
    // Three equal members and a phantom claiming 1e9: counted at 10 x 100.
    const four = [member("me:1", "alive", 100), member("b:1", "alive", 100), member("c:1", "alive", 100), member("ph:1", "alive", 1e9)];
    expect(trust.view(four, "me:1").map((m) => m.info.capacity)).toEqual([100, 100, 100, 1000]);
    expect(capacityLimit(four, "me:1")).toBe(1000);
  });
});
