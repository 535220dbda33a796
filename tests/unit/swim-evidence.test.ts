/** The core's evidence about members, and the operator's force-leave and forget, driven by hand. */
import { describe, expect, test } from "bun:test";
import { Swim } from "../../src/membership/swim.ts";
import { profiles } from "../../src/membership/timing.ts";
import type { Evidence, Message, NodeInfo, Output, Update } from "../../src/membership/types.ts";
import { seededRandom } from "../../src/util/random.ts";
import { encodedSize } from "../../src/wire/codec.ts";

const info = (n: number): NodeInfo => ({ id: `n${n}`, name: `node-${n}`, gossip: `10.0.0.${n}:7946`, http: `10.0.0.${n}:5000`, capacity: 100 });
const gossip = (updates: Update[], from = "n9"): Message => ({ type: "gossip", from, updates });

function core(n: number): Swim {
  const s = new Swim({ self: info(1), timing: profiles.lan, random: seededRandom(7), sizeOf: encodedSize, initialIncarnation: 10, now: 0 });
  const alive: Update[] = [];
  for (let i = 2; i <= n; i++) alive.push({ kind: "alive", incarnation: 1, info: info(i) });
  s.handle(0, { type: "message", source: "10.0.0.9:7946", message: gossip(alive) });
  return s;
}
const hear = (s: Swim, now: number, updates: Update[], from = "n9"): Output =>
  s.handle(now, { type: "message", source: "10.0.0.9:7946", message: gossip(updates, from) });
const about = (out: Output[], id: string): Evidence[] => out.flatMap((o) => o.evidence).filter((e) => e.member === id);

/** Run the core for `ms` in 10 ms steps, answering nothing from `silent`, collecting every output. */
function run(s: Swim, from: number, ms: number, opts: { nack?: (relay: string) => boolean; http?: "refused" | "silent" } = {}): Output[] {
  const outs: Output[] = [];
  let pending: Output[] = [];
  for (let now = from; now <= from + ms; now += 10) {
    const out = s.handle(now, { type: "tick" });
    outs.push(out);
    pending.push(out);
    // Carry out what the core asked: relays nack, HTTP checks come back.
    const next: Output[] = [];
    for (const o of pending) {
      for (const send of o.send) {
        const m = send.message;
        if (m.type === "ping-req" && opts.nack) {
          const relay = `n${send.to.split(".")[3]!.split(":")[0]}`;
          if (opts.nack(relay))
            next.push(
              s.handle(now + 5, { type: "message", source: send.to, message: { type: "nack", seq: m.seq, from: relay, refused: opts.http === "refused" } }),
            );
        }
      }
      for (const e of o.effects)
        if (e.type === "check-http" && opts.http) next.push(s.handle(now + 5, { type: "http-check", target: e.target, nonce: e.nonce, result: opts.http }));
    }
    outs.push(...next);
    pending = next;
  }
  return outs;
}

describe("evidence from the core", () => {
  test("a silent member: ack timeout with the relays asked, one relay's nack, the other's silence, suspicion, then dead", () => {
    const s = core(4);
    const outs = run(s, 1, 30_000, { nack: (r) => r !== "n3", http: "silent" });
    // Every member is probed; pick the story of n2 (n3 and n4 too are silent here: nobody answers anything).
    const story = about(outs, "n2");
    const kinds = story.map((e) => e.kind);
    expect(kinds.slice(0, 1)).toEqual(["ack-timeout"]);
    const timeout = story[0]!;
    expect(timeout.by).toBe("n1");
    expect(timeout.detail).toBe(`no ack within ${profiles.lan.probeTimeoutMs} ms`);
    expect([...timeout.relays!].sort()).toEqual(["n3", "n4"]);
    const firstFail = kinds.indexOf("probe-failed");
    expect(kinds.slice(1, firstFail)).toContain("nack");
    expect(story.find((e) => e.kind === "nack")!.by).toBe("n4");
    expect(story.find((e) => e.kind === "http")!.detail).toBe("silent");
    // The relay that sent no nack is named as silent.
    expect(story[firstFail]!.relays).toEqual(["n3"]);
    expect(story[firstFail]!.detail).toBe("no proof of life: 2 relays asked, 1 nacks");
    const suspect = story.find((e) => e.kind === "suspect")!;
    expect(suspect).toMatchObject({ by: "n1", incarnation: 1, detail: "probe timeout" });
    const dead = story.find((e) => e.kind === "dead")!;
    expect(dead).toMatchObject({ by: "n1", detail: "suspicion timeout" });
    expect(dead.suspectedMs).toBe(dead.at - suspect.at);
    expect(kinds.indexOf("dead")).toBeGreaterThan(kinds.indexOf("suspect"));
  });

  test("a crashed process: its HTTP port refuses us and a relay, and it is dead at once", () => {
    const s = core(3);
    const outs = run(s, 1, 3000, { nack: () => true, http: "refused" });
    // The first member probed, while the other could still relay.
    const first = outs.flatMap((o) => o.evidence).find((e) => e.kind === "ack-timeout")!.member;
    const story = about(outs, first);
    expect(story.map((e) => e.kind)).toContain("http");
    expect(story.find((e) => e.kind === "http")!.detail).toBe("refused");
    expect(story.find((e) => e.kind === "nack")!.detail).toBe("no ack, and its HTTP port refused the connection");
    const dead = story.find((e) => e.kind === "dead")!;
    expect(dead.detail).toBe("connection refused");
    expect(story.find((e) => e.kind === "suspect")!.detail).toBe("connection refused");
  });

  test("suspicion heard from others: who suspected, who brought it, who confirmed, and the refutation with how long it ran", () => {
    const s = core(5);
    const a = hear(s, 100, [{ kind: "suspect", id: "n2", incarnation: 1, from: "n3" }], "n4");
    expect(a.evidence).toEqual([{ at: 100, member: "n2", kind: "suspect", by: "n3", via: "n4", incarnation: 1 }]);
    const b = hear(s, 200, [{ kind: "suspect", id: "n2", incarnation: 1, from: "n5" }], "n5");
    expect(b.evidence).toHaveLength(1);
    expect(b.evidence[0]).toMatchObject({ kind: "confirm", by: "n5", incarnation: 1 });
    expect(b.evidence[0]!.via).toBeUndefined();
    const c = hear(s, 1600, [{ kind: "alive", incarnation: 2, info: info(2) }], "n2");
    expect(c.evidence).toEqual([{ at: 1600, member: "n2", kind: "refuted", by: "n2", incarnation: 2, suspectedMs: 1500, detail: "incarnation 1 → 2" }]);
  });

  test("about itself: the suspicion it heard, and its refutation", () => {
    const s = core(3);
    const out = hear(s, 50, [{ kind: "suspect", id: "n1", incarnation: 10, from: "n2" }], "n3");
    expect(out.evidence.map((e) => [e.kind, e.by, e.via])).toEqual([
      ["suspect", "n2", "n3"],
      ["refuted", "n1", undefined],
    ]);
  });

  test("a healthy cluster makes no evidence", () => {
    const s = core(4);
    const outs: Output[] = [];
    for (let now = 1; now < 20_000; now += 10) {
      const out = s.handle(now, { type: "tick" });
      outs.push(out);
      for (const send of out.send) {
        const m = send.message;
        if (m.type === "ping")
          outs.push(s.handle(now + 1, { type: "message", source: send.to, message: { type: "ack", seq: m.seq, from: m.to, nonce: m.nonce, updates: [] } }));
      }
    }
    expect(outs.flatMap((o) => o.evidence)).toEqual([]);
  });
});

describe("force-leave and forget", () => {
  test("an alive member is never force-left, nor this node", () => {
    const s = core(3);
    const out = s.handle(10, { type: "force-leave", id: "n2" });
    expect(out.events).toEqual([]);
    expect(s.member("n2")!.state).toBe("alive");
    s.handle(11, { type: "force-leave", id: "n1" });
    expect(s.member("n1")!.state).toBe("alive");
    s.handle(12, { type: "forget", id: "n2" });
    expect(s.member("n2")!.state).toBe("alive");
  });

  test("a dead member becomes left here, is told it was declared dead, is shown to others as dead, and is not retried", () => {
    const s = core(3);
    hear(s, 10, [{ kind: "dead", id: "n2", incarnation: 1, from: "n3" }]);
    const out = s.handle(20, { type: "force-leave", id: "n2" });
    expect(out.events.map((e) => `${e.type}:${e.member.info.id}:${e.reason}`)).toEqual(["left:n2:force-leave"]);
    expect(out.evidence).toEqual([{ at: 20, member: "n2", kind: "left", by: "n1", incarnation: 1, detail: "force-leave" }]);
    expect(out.send).toContainEqual({
      to: info(2).gossip,
      message: { type: "gossip", from: "n1", updates: [{ kind: "dead", id: "n2", incarnation: 1, from: "n1" }] },
    });
    expect(s.member("n2")!.state).toBe("left");
    expect(s.inspectMember("n2")!.forced).toBe(true);
    expect(s.snapshot().find((m) => m.info.id === "n2")!.state).toBe("dead");
    // Its own alive at the same incarnation does not bring it back; no sync goes to it for an hour.
    hear(s, 30, [{ kind: "alive", incarnation: 1, info: info(2) }]);
    expect(s.member("n2")!.state).toBe("left");
    const syncs: string[] = [];
    for (let now = 40; now < 120_000; now += 100) for (const e of s.handle(now, { type: "tick" }).effects) if (e.type === "sync") syncs.push(e.target);
    expect(syncs).not.toContain("n2");
  });

  test("a live member refutes the force-leave: its higher incarnation brings it back everywhere", () => {
    const s = core(3);
    hear(s, 10, [{ kind: "suspect", id: "n2", incarnation: 1, from: "n3" }]);
    s.handle(20, { type: "force-leave", id: "n2" });
    const out = hear(s, 30, [{ kind: "alive", incarnation: 2, info: info(2) }], "n2");
    expect(out.events.map((e) => e.type)).toEqual(["rejoined"]);
    expect(s.member("n2")!.state).toBe("alive");
    expect(s.inspectMember("n2")!.forced).toBe(false);
  });

  test("forget prunes a dead or left member; an alive claim at a higher incarnation is learned again", () => {
    const s = core(3);
    hear(s, 10, [{ kind: "dead", id: "n2", incarnation: 1, from: "n3" }]);
    s.handle(20, { type: "force-leave", id: "n2" });
    const out = s.handle(21, { type: "forget", id: "n2" });
    expect(out.evidence).toEqual([{ at: 21, member: "n2", kind: "forgotten", by: "n1", incarnation: 1, detail: "pruned by an operator" }]);
    expect(s.member("n2")).toBeUndefined();
    // Gossip that it is dead does not bring back a row.
    hear(s, 30, [{ kind: "dead", id: "n2", incarnation: 1, from: "n3" }]);
    expect(s.member("n2")).toBeUndefined();
    expect(s.inspect().strays).toEqual([]);
    hear(s, 40, [{ kind: "alive", incarnation: 5, info: info(2) }]);
    expect(s.member("n2")!.state).toBe("alive");
  });
});
