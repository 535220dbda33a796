/** The node driver over a hand-held I/O: what reaches the core, what leaves it, and its one timer. */
import { describe, expect, test } from "bun:test";
import { NodeDriver } from "../../src/driver/node-driver.ts";
import type { HealthAnswer, NodeIo } from "../../src/driver/node-io.ts";
import { profiles } from "../../src/membership/timing.ts";
import type { MemberSnapshot, NodeInfo } from "../../src/membership/types.ts";
import { decodeMessage, encodeMessage } from "../../src/wire/codec.ts";

const info = (i: number): NodeInfo => ({ id: `n${i}`, name: `node-${i}`, gossip: `10.0.0.${i}:7946`, http: `10.0.0.${i}:5000`, capacity: 1000 });

function harness() {
  let now = 0;
  const sent: { to: string; datagram: Uint8Array }[] = [];
  const timers: number[] = [];
  let fire: (() => void) | undefined;
  const checks: ((r: HealthAnswer) => void)[] = [];
  const exchanges: ((r: MemberSnapshot[] | Error) => void)[] = [];
  const io: NodeIo = {
    now: () => now,
    send: (to, datagram) => sent.push({ to, datagram }),
    setTimer: (at, f) => {
      timers.push(at);
      fire = f;
    },
    checkHttp: (_h, _t, _n, done) => checks.push(done),
    exchange: (_h, _m, _j, done) => exchanges.push(done),
  };
  const driver = new NodeDriver({
    core: { self: info(0), timing: profiles.lan, random: () => 0.5, now: 0, initialMembers: [{ info: info(1), state: "alive", incarnation: 1 }] },
    io,
  });
  return { driver, sent, timers, checks, exchanges, advance: (ms: number) => (now += ms), fire: () => fire?.() };
}

describe("node driver", () => {
  test("what the core sends leaves encoded; what arrives is decoded before the core sees it", () => {
    const h = harness();
    h.driver.tick();
    h.advance(1000);
    h.fire(); // the first probe round
    const ping = h.sent.map((s) => decodeMessage(s.datagram)).find((d) => d.ok && d.message.type === "ping");
    expect(ping?.ok && ping.message.type === "ping" && ping.message.to).toBe("n1");
    expect(h.driver.stats.packetsOut).toBe(h.sent.length);

    const seq = ping?.ok && ping.message.type === "ping" ? ping.message.seq : -1;
    const nonce = ping?.ok && ping.message.type === "ping" ? ping.message.nonce : new Uint8Array(16);
    const before = h.driver.swim.stats.messagesIn;
    h.driver.receive(info(1).gossip, encodeMessage({ type: "ack", seq, from: "n1", nonce, updates: [] }));
    expect(h.driver.swim.stats.messagesIn).toBe(before + 1);
  });

  test("bad datagrams are counted by reason and never reach the core", () => {
    const h = harness();
    h.driver.receive("10.0.0.9:1", new Uint8Array([0xc1])); // never valid msgpack
    h.driver.receive("10.0.0.9:1", encodeMessage({ type: "gossip", from: "n9", updates: [] }).slice(0, 3));
    h.driver.receive("10.0.0.9:1", new Uint8Array(5000));
    h.driver.receive("10.0.0.9:1", new Uint8Array([0x81, 0xa1, 0x74, 0x09])); // {t: 9}
    expect(h.driver.stats.drops).toMatchObject({ malformed: 2, oversized: 1, schema: 1 });
    expect(h.driver.stats.packetsIn).toBe(4);
    expect(h.driver.swim.stats.messagesIn).toBe(0);
  });

  test("one timer, re-armed only when the wake-up time changes; results come back as inputs", () => {
    const h = harness();
    h.driver.tick();
    const armed = h.timers.length;
    expect(armed).toBe(1);
    h.driver.dispatch({ type: "tick" }); // nothing due: same wake-up, no new timer
    expect(h.timers.length).toBe(armed);
    // Run probe rounds with no ack: the core asks for an HTTP check; its answer is fed back in.
    for (let i = 0; i < 4 && h.checks.length === 0; i++) {
      h.advance(600);
      h.fire();
    }
    expect(h.checks.length).toBe(1);
    // An answer in another's name proves nothing; the member's own does (open mode: its id).
    h.checks[0]!({ result: "answered", id: "n7" });
    expect(h.driver.swim.stats.fallbackAcks).toBe(0);
    expect(h.driver.swim.stats.unprovenAcks).toBe(1);
    h.checks[0]!({ result: "answered", id: "n1" });
    expect(h.driver.swim.stats.fallbackAcks).toBe(1);
  });

  test("a stopped driver disarms its timer and ignores datagrams", () => {
    const h = harness();
    h.driver.tick();
    h.driver.stop();
    expect(h.timers.at(-1)).toBe(Number.POSITIVE_INFINITY);
    h.driver.receive(info(1).gossip, encodeMessage({ type: "gossip", from: "n1", updates: [] }));
    expect(h.driver.stats.packetsIn).toBe(0);
  });
});
