/** The core's timers: one list gives both what runs now and when to wake up next. */
import { describe, expect, test } from "bun:test";
import { Swim } from "../../src/membership/swim.ts";
import { profiles } from "../../src/membership/timing.ts";
import type { NodeInfo, Output } from "../../src/membership/types.ts";
import { seededRandom } from "../../src/util/random.ts";
import { encodedSize } from "../../src/wire/codec.ts";

const info = (n: number): NodeInfo => ({ id: `n${n}`, name: `node-${n}`, gossip: `10.0.0.${n}:7946`, http: `10.0.0.${n}:5000`, capacity: 100 });

function core(n: number): Swim {
  const others = Array.from({ length: n - 1 }, (_, i) => ({ info: info(i + 2), state: "alive" as const, incarnation: 1 }));
  return new Swim({ self: info(1), timing: profiles.lan, random: seededRandom(7), sizeOf: encodedSize, now: 0, initialMembers: others });
}
const pingOf = (o: Output) => o.send.find((s) => s.message.type === "ping")?.message;

describe("swim timers", () => {
  test("a suspicion ends exactly at the deadline the core reports, and wakeAt never passes it", () => {
    const s = core(5);
    s.handle(10, {
      type: "message",
      source: info(3).gossip,
      message: { type: "gossip", from: "n3", updates: [{ kind: "suspect", id: "n2", incarnation: 1, from: "n3" }] },
    });
    const deadlineOf = () => s.inspect().members.find((m) => m.id === "n2")!.suspicionDeadline!;
    let deadline = deadlineOf();
    expect(deadline).toBeGreaterThan(10);
    let t = 10;
    // Drive the core only at the times it asks for, answering nothing: our own failed probes
    // confirm the suspicion (its deadline moves earlier), and n2 dies at the deadline reported.
    while (s.member("n2")!.state === "suspect") {
      deadline = deadlineOf();
      const out = s.handle(t, { type: "tick" });
      expect(out.wakeAt).toBeGreaterThan(t);
      if (s.member("n2")!.state === "suspect") expect(out.wakeAt).toBeLessThanOrEqual(deadlineOf());
      else expect(t).toBe(deadline);
      t = out.wakeAt;
    }
  });

  test("a late call runs every due timer at once: ack timeout, relays, then the probe's end", () => {
    const s = core(5);
    let t = 0;
    let ping: ReturnType<typeof pingOf>;
    while (!ping) ping = pingOf(s.handle((t += 10), { type: "tick" }));
    expect(s.inspect().probe).toMatchObject({ phase: "direct" });
    // The process stalled past the whole probe period: one call asks the relays and ends the probe.
    const out = s.handle(t + 5000, { type: "tick" });
    expect(out.send.filter((o) => o.message.type === "ping-req").length).toBe(3);
    expect(out.events.map((e) => `${e.type}:${e.member.info.id}`)).toContain(`suspect:${ping!.type === "ping" ? ping.to : ""}`);
  });

  test("the probe is direct, then indirect; an ack in either phase ends it", () => {
    const s = core(5);
    let t = 0;
    let ping: ReturnType<typeof pingOf>;
    while (!ping) ping = pingOf(s.handle((t += 10), { type: "tick" }));
    if (ping.type !== "ping") throw new Error("not a ping");
    const { deadline } = s.inspect().probe!;
    s.handle(deadline, { type: "tick" });
    expect(s.inspect().probe).toMatchObject({ phase: "indirect", target: ping.to });
    s.handle(deadline + 1, { type: "message", source: "10.0.0.9:7946", message: { type: "ack", seq: ping.seq, from: "n9", nonce: ping.nonce, updates: [] } });
    expect(s.inspect().probe).toBeUndefined();
    // Its end passes quietly: nobody suspected.
    expect(s.handle(deadline + 2000, { type: "tick" }).events).toEqual([]);
  });

  test("a relay nacks when its ping goes unanswered, at the time it asked to be woken", () => {
    const s = core(3);
    const out = s.handle(5, {
      type: "message",
      source: info(2).gossip,
      message: {
        type: "ping-req",
        seq: 77,
        from: "n2",
        target: "n3",
        targetGossip: info(3).gossip,
        targetHttp: info(3).http,
        nonce: new Uint8Array(16),
        updates: [],
      },
    });
    expect(out.send.some((o) => o.to === info(3).gossip && o.message.type === "ping")).toBe(true);
    expect(s.inspect().relays).toBe(1);
    const nackAt = 5 + profiles.lan.probeTimeoutMs * 0.8;
    expect(out.wakeAt).toBeLessThanOrEqual(nackAt);
    const later = s.handle(nackAt, { type: "tick" });
    expect(later.send).toContainEqual({ to: info(2).gossip, message: { type: "nack", seq: 77, from: "n1", refused: false } });
    expect(s.inspect().relays).toBe(0);
  });

  test("after leaving, the periodic rounds stop: nothing left to wake for", () => {
    const s = core(3);
    s.handle(5, { type: "tick" });
    const out = s.handle(6, { type: "leave" });
    expect(out.wakeAt).toBe(Number.POSITIVE_INFINITY);
    expect(s.inspect().members.find((m) => m.id === "n1")!.state).toBe("left");
  });
});
