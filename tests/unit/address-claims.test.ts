/** Addresses belong to whoever proves them: the core's rules, driven by hand (open mode: ids, nonces). */
import { describe, expect, test } from "bun:test";
import { Swim } from "../../src/membership/swim.ts";
import { profiles } from "../../src/membership/timing.ts";
import type { Message, NodeInfo, Output, Update } from "../../src/membership/types.ts";
import { seededRandom } from "../../src/util/random.ts";
import { encodedSize } from "../../src/wire/codec.ts";

const info = (n: number): NodeInfo => ({ id: `n${n}`, name: `node-${n}`, gossip: `10.0.0.${n}:7946`, http: `10.0.0.${n}:5000`, capacity: 100 });
const impostor: NodeInfo = { ...info(2), id: "mallory", name: "impostor" };

function core(): Swim {
  const s = new Swim({ self: info(1), timing: profiles.lan, random: seededRandom(1), sizeOf: encodedSize, initialIncarnation: 10, now: 0 });
  hear(
    s,
    0,
    [2, 3, 4, 5].map((n) => ({ kind: "alive", incarnation: 1, info: info(n) })),
  );
  return s;
}
const hear = (s: Swim, now: number, updates: Update[]): Output =>
  s.handle(now, { type: "message", source: "10.0.0.9:7946", message: { type: "gossip", from: "n9", updates } });
const types = (o: Output) => o.events.map((e) => `${e.type}:${e.member.info.id}${e.reason ? ` (${e.reason})` : ""}`);
const claim = (i: NodeInfo, incarnation = 5): Update => ({ kind: "alive", incarnation, info: i });
const pingTo = (o: Output, to: string) =>
  o.send.find((x) => x.message.type === "ping" && x.message.to === to)?.message as Extract<Message, { type: "ping" }> | undefined;

describe("a claim for an address another member holds", () => {
  test("is refused while the holder lives, and the address is asked who is there", () => {
    const s = core();
    const out = hear(s, 10, [claim(impostor)]);
    expect(types(out)).toEqual([]);
    expect(s.member("mallory")).toBeUndefined();
    expect(s.stats.addressConflicts).toBe(1);
    // One ping for the claimant, to the address; and its HTTP port, the holder's too, challenged.
    const ping = pingTo(out, "mallory")!;
    expect(out.send.find((x) => x.message === ping)!.to).toBe(info(2).gossip);
    expect(out.effects).toContainEqual(expect.objectContaining({ type: "check-http", target: "mallory", http: info(2).http, nonce: ping.nonce }));
    // The holder answers the challenge as itself: that proves nothing for the claimant.
    s.handle(20, { type: "http-check", target: "mallory", nonce: ping.nonce, result: "answered", answeredAs: "n2" });
    expect(s.member("mallory")).toBeUndefined();
    expect(s.member("n2")!.state).toBe("alive");
  });

  test("an unsigned dead does not free the address; the holder dead by this node's own silent probe does", () => {
    const s = core();
    hear(s, 10, [{ kind: "dead", id: "n2", incarnation: 1, from: "n9" }]);
    expect(s.member("n2")!.state).toBe("dead");
    expect(types(hear(s, 11, [claim(impostor)]))).toEqual([]);
    expect(s.stats.addressConflicts).toBe(1);

    // Another holder, probed by this node itself and silent: its address goes to a newcomer at once.
    const t = core();
    let now = 0;
    let ping: Extract<Message, { type: "ping" }> | undefined;
    while (ping?.to !== "n3") ping = pingOf(t.handle((now += 100), { type: "tick" })) ?? ping;
    // Nobody answers anything: the probe fails, the suspicion runs out.
    for (const at of [1000, 2000, 60_000, 120_000]) t.handle(now + at, { type: "tick" });
    expect(t.member("n3")!.state).toBe("dead");
    now += 120_000;
    const newcomer: NodeInfo = { ...info(3), id: "n3-new-key" };
    expect(types(hear(t, now + 1, [claim(newcomer)]))).toEqual(["joined:n3-new-key"]);
    expect(t.stats.addressConflicts).toBe(0);
  });

  test("a claimant that answers at the address proves it: it replaces the holder (a restart with a new key, a move)", () => {
    const s = core();
    const newcomer: NodeInfo = { ...info(4), id: "n4-new-key" };
    const out = hear(s, 10, [claim(newcomer)]);
    const ping = pingTo(out, "n4-new-key")!;
    // Someone else's ack, or the right seq with the wrong nonce, proves nothing.
    s.handle(12, {
      type: "message",
      source: info(4).gossip,
      message: { type: "ack", seq: ping.seq, from: "n4-new-key", nonce: new Uint8Array(16), updates: [] },
    });
    expect(s.member("n4-new-key")).toBeUndefined();
    expect(s.stats.unprovenAcks).toBe(1);
    const ack = s.handle(13, {
      type: "message",
      source: info(4).gossip,
      message: { type: "ack", seq: ping.seq, from: "n4-new-key", nonce: ping.nonce, updates: [] },
    });
    expect(types(ack)).toEqual(["left:n4 (replaced by n4-new-key)", "joined:n4-new-key"]);
  });

  test("no HTTP request goes to an address that only the claim names", () => {
    const s = core();
    const out = hear(s, 10, [claim({ ...impostor, http: "192.0.2.1:80" })]);
    expect(pingTo(out, "mallory")).toBeDefined();
    expect(out.effects.filter((e) => e.type === "check-http")).toEqual([]);
  });
});

function pingOf(o: Output): Extract<Message, { type: "ping" }> | undefined {
  const p = o.send.find((x) => x.message.type === "ping");
  return p?.message.type === "ping" ? p.message : undefined;
}
