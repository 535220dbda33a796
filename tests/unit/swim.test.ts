/** The core state machine, driven by hand: one call, one output, no sockets or clocks. */
import { describe, expect, test } from "bun:test";
import { Swim } from "../../src/membership/swim.ts";
import { profiles } from "../../src/membership/timing.ts";
import type { Message, NodeInfo, Output, Update } from "../../src/membership/types.ts";
import { seededRandom } from "../../src/util/random.ts";
import { encodedSize } from "../../src/wire/codec.ts";

const info = (n: number): NodeInfo => ({ id: `n${n}`, name: `node-${n}`, gossip: `10.0.0.${n}:7946`, http: `10.0.0.${n}:5000`, capacity: 100 * n });
const alive = (n: number, incarnation = 1): Update => ({ kind: "alive", incarnation, info: info(n) });
const gossip = (updates: Update[], from = "n9"): Message => ({ type: "gossip", from, updates });

function core(extra: NodeInfo[] = []): Swim {
  const s = new Swim({ self: info(1), timing: profiles.lan, random: seededRandom(1), sizeOf: encodedSize, initialIncarnation: 10, now: 0 });
  if (extra.length) s.handle(0, { type: "message", source: "10.0.0.9:7946", message: gossip(extra.map((i) => ({ kind: "alive", incarnation: 1, info: i }))) });
  return s;
}
const hear = (s: Swim, now: number, updates: Update[]): Output => s.handle(now, { type: "message", source: "10.0.0.9:7946", message: gossip(updates) });
const eventTypes = (o: Output) => o.events.map((e) => `${e.type}:${e.member.info.id}`);

describe("swim core", () => {
  test("learns members from alive claims and reports one join each", () => {
    const s = core();
    const out = hear(s, 1, [alive(2), alive(3), alive(2)]);
    expect(eventTypes(out)).toEqual(["joined:n2", "joined:n3"]);
    expect(s.liveCount).toBe(3);
  });

  test("refutes a suspicion of itself with a higher incarnation, and gossips it", () => {
    const s = core([info(2)]);
    const out = hear(s, 5, [{ kind: "suspect", id: "n1", incarnation: 10, from: "n2" }]);
    expect(eventTypes(out)).toEqual(["refuted:n1"]);
    expect(s.incarnation).toBe(11);
    const sent = out.send.flatMap((o) => ("updates" in o.message ? o.message.updates : []));
    expect(sent).toContainEqual({ kind: "alive", incarnation: 11, info: info(1) });
  });

  test("a suspect member is buried after its timeout unless it refutes", () => {
    const s = core([info(2), info(3)]);
    hear(s, 10, [{ kind: "suspect", id: "n2", incarnation: 1, from: "n3" }]);
    expect(s.member("n2")!.state).toBe("suspect");
    // Refutation: alive at a higher incarnation wins.
    expect(eventTypes(hear(s, 20, [alive(2, 2)]))).toEqual(["alive:n2"]);
    hear(s, 30, [{ kind: "suspect", id: "n3", incarnation: 1, from: "n2" }]);
    const out = s.handle(60_000, { type: "tick" });
    expect(eventTypes(out)).toContain("dead:n3");
  });

  test("a new identity on a known address replaces the old one once it answers there", () => {
    const s = core([info(2)]);
    const newcomer = { ...info(2), id: "n2-new" };
    const out = hear(s, 5, [{ kind: "alive", incarnation: 1, info: newcomer }]);
    expect(eventTypes(out)).toEqual([]);
    const ping = out.send.find((o) => o.message.type === "ping" && o.message.to === "n2-new")!.message as Extract<Message, { type: "ping" }>;
    const ack: Message = { type: "ack", seq: ping.seq, from: "n2-new", nonce: ping.nonce, updates: [] };
    expect(eventTypes(s.handle(6, { type: "message", source: info(2).gossip, message: ack }))).toEqual(["left:n2", "joined:n2-new"]);
    expect(s.member("n2")).toBeUndefined();
  });

  test("left is final for its incarnation; only a newer alive brings the member back", () => {
    const s = core([info(2)]);
    hear(s, 5, [{ kind: "left", id: "n2", incarnation: 1 }]);
    expect(eventTypes(hear(s, 6, [alive(2, 1), { kind: "dead", id: "n2", incarnation: 1, from: "n3" }]))).toEqual([]);
    expect(eventTypes(hear(s, 7, [alive(2, 2)]))).toEqual(["rejoined:n2"]);
  });

  test("load figures: a newer version wins, an older one is ignored", () => {
    const s = core([info(2)]);
    hear(s, 5, [{ kind: "load", id: "n2", load: { version: 5, backlog: 40 } }]);
    hear(s, 6, [{ kind: "load", id: "n2", load: { version: 4, backlog: 99 } }]);
    expect(s.member("n2")!.load).toEqual({ version: 5, backlog: 40 });
  });

  test("a ping for another identity gets no ack", () => {
    const s = core([info(2)]);
    const out = s.handle(5, {
      type: "message",
      source: "10.0.0.2:7946",
      message: { type: "ping", seq: 1, from: "n2", to: "someone-else", nonce: new Uint8Array(16), updates: [] },
    });
    expect(out.send.filter((o) => o.message.type === "ack")).toEqual([]);
    const ok = s.handle(6, {
      type: "message",
      source: "10.0.0.2:7946",
      message: { type: "ping", seq: 2, from: "n2", to: "n1", nonce: new Uint8Array(16), updates: [] },
    });
    expect(ok.send.some((o) => o.message.type === "ack" && o.message.seq === 2 && o.to === "10.0.0.2:7946")).toBe(true);
  });

  test("an unanswered probe asks relays and checks the HTTP port; refusal confirmed by a relay kills at once", () => {
    const s = core([info(2), info(3), info(4), info(5)]);
    let t = 0;
    let ping: { to: string; seq: number; nonce: Uint8Array } | undefined;
    while (!ping && t < 5000) {
      const out = s.handle((t += 10), { type: "tick" });
      const p = out.send.find((o) => o.message.type === "ping");
      if (p && p.message.type === "ping") ping = { to: p.message.to, seq: p.message.seq, nonce: p.message.nonce };
    }
    expect(ping).toBeDefined();
    const out = s.handle(t + 600, { type: "tick" });
    const reqs = out.send.filter((o) => o.message.type === "ping-req");
    expect(reqs).toHaveLength(3);
    expect(out.effects).toContainEqual(expect.objectContaining({ type: "check-http", target: ping!.to, http: info(Number(ping!.to.slice(1))).http }));
    s.handle(t + 601, { type: "http-check", target: ping!.to, nonce: ping!.nonce, result: "refused" });
    const confirmed = s.handle(t + 602, { type: "message", source: reqs[0]!.to, message: { type: "nack", seq: ping!.seq, from: "n9", refused: true } });
    expect(eventTypes(confirmed)).toEqual([`suspect:${ping!.to}`, `dead:${ping!.to}`]);
  });

  test("a probe lost over UDP but answered over HTTP suspects nobody (memberlist's TCP fallback)", () => {
    const s = core([info(2), info(3), info(4), info(5)]);
    let t = 0;
    let target: string | undefined;
    let nonce: Uint8Array = new Uint8Array();
    while (!target && t < 5000) {
      const p = s.handle((t += 10), { type: "tick" }).send.find((o) => o.message.type === "ping");
      if (p?.message.type === "ping") ({ to: target, nonce } = p.message);
    }
    s.handle(t + 600, { type: "tick" });
    // Another identity answering at the member's address proves nothing; the member's own answer does.
    s.handle(t + 605, { type: "http-check", target: target!, nonce, result: "answered", answeredAs: "n77" });
    expect(s.stats.fallbackAcks).toBe(0);
    s.handle(t + 610, { type: "http-check", target: target!, nonce, result: "answered", answeredAs: target! });
    const after = s.handle(t + 2000, { type: "tick" });
    expect(after.events).toEqual([]);
    expect(s.member(target!)!.state).toBe("alive");
    expect(s.stats.fallbackAcks).toBe(1);
  });

  test("leaving announces `left` to every live member directly and stops probing", () => {
    const s = core([info(2), info(3)]);
    const out = s.handle(5, { type: "leave" });
    expect(out.send.map((o) => o.to).sort()).toEqual([info(2).gossip, info(3).gossip]);
    expect(out.send.every((o) => o.message.type === "gossip" && o.message.updates[0]!.kind === "left")).toBe(true);
    expect(s.handle(10_000, { type: "tick" }).send.filter((o) => o.message.type === "ping")).toEqual([]);
  });

  test("anti-entropy treats a remote `dead` as `suspect`, giving the member a chance to refute", () => {
    const s = core([info(2)]);
    const out = s.handle(5, { type: "sync", join: false, members: [{ info: info(2), state: "dead", incarnation: 1 }] });
    expect(eventTypes(out)).toEqual(["suspect:n2"]);
  });
});

describe("suspects have timers, however they arrive", () => {
  /** Tick at every wake-up the core asks for, until `done` or `until` ms. */
  function drive(s: Swim, from: number, until: number, done: () => boolean): number | undefined {
    let t = from;
    while (t <= until) {
      const out = s.handle(t, { type: "tick" });
      if (done()) return t;
      if (!(out.wakeAt > t)) throw new Error(`wakeAt ${out.wakeAt} not after ${t}`);
      t = out.wakeAt;
    }
    return undefined;
  }

  test("a suspect loaded through initialMembers dies when nobody refutes it", () => {
    const s = new Swim({
      self: info(1),
      timing: profiles.lan,
      random: seededRandom(1),
      sizeOf: encodedSize,
      now: 0,
      initialMembers: [
        { info: info(2), state: "suspect", incarnation: 3 },
        { info: info(3), state: "alive", incarnation: 1 },
      ],
    });
    expect(s.member("n2")!.state).toBe("suspect");
    // Three members, no confirmations possible: the timeout is the floor, 3 × 1 s.
    const diedAt = drive(s, 0, 60_000, () => s.member("n2")!.state === "dead");
    expect(diedAt).toBeDefined();
    expect(diedAt!).toBeLessThanOrEqual(3000);
  });

  test("a suspicion learned from a sync gets a timer too", () => {
    const s = core([info(2), info(3)]);
    s.handle(5, { type: "sync", join: false, members: [{ info: info(2), state: "suspect", incarnation: 1 }] });
    expect(s.member("n2")!.state).toBe("suspect");
    expect(drive(s, 6, 60_000, () => s.member("n2")!.state === "dead")).toBeDefined();
  });
});
