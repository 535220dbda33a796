/** Who may raise an incarnation: the core's rules, driven by hand. */
import { describe, expect, test } from "bun:test";
import { INCARNATION_SLACK_S, REFUTE_AHEAD_S } from "../../src/membership/incarnation.ts";
import { Swim } from "../../src/membership/swim.ts";
import { profiles } from "../../src/membership/timing.ts";
import type { NodeInfo, Output, Update } from "../../src/membership/types.ts";
import { seededRandom } from "../../src/util/random.ts";
import { encodedSize } from "../../src/wire/codec.ts";

const info = (n: number): NodeInfo => ({ id: `n${n}`, name: `node-${n}`, gossip: `10.0.0.${n}:7946`, http: `10.0.0.${n}:5000`, capacity: 100 });
const T0 = 1_700_000_000_000; // a wall-clock time: incarnations start near it in seconds
const S0 = T0 / 1000;

function core(selfIncarnation = S0): Swim {
  const s = new Swim({ self: info(1), timing: profiles.lan, random: seededRandom(1), sizeOf: encodedSize, initialIncarnation: selfIncarnation, now: T0 });
  hear(
    s,
    T0,
    [2, 3, 4].map((n) => ({ kind: "alive", incarnation: S0 - 100, info: info(n) })),
  );
  return s;
}
const hear = (s: Swim, now: number, updates: Update[]): Output =>
  s.handle(now, { type: "message", source: "10.0.0.9:7946", message: { type: "gossip", from: "n9", updates } });
const types = (o: Output) => o.events.map((e) => `${e.type}:${e.member.info.id}`);

describe("incarnations only the subject can raise", () => {
  test("suspect or dead above the member's latest alive is dropped and counted", () => {
    const s = core();
    const known = S0 - 100;
    const out = hear(s, T0 + 1, [
      { kind: "suspect", id: "n2", incarnation: known + 1, from: "n9" },
      { kind: "dead", id: "n3", incarnation: known + 7, from: "n9" },
    ]);
    expect(types(out)).toEqual([]);
    expect(s.member("n2")!.state).toBe("alive");
    expect(s.member("n3")!.incarnation).toBe(known);
    expect(s.stats.invalidIncarnations).toBe(2);
    // At the announced incarnation it is an ordinary suspicion; the member's refutation wins.
    expect(types(hear(s, T0 + 2, [{ kind: "suspect", id: "n2", incarnation: known, from: "n9" }]))).toEqual(["suspect:n2"]);
    expect(types(hear(s, T0 + 3, [{ kind: "alive", incarnation: known + 1, info: info(2) }]))).toEqual(["alive:n2"]);
  });

  test("left may be one above (a leave's own step), no more", () => {
    const s = core();
    const known = S0 - 100;
    expect(types(hear(s, T0 + 1, [{ kind: "left", id: "n2", incarnation: known + 2 }]))).toEqual([]);
    expect(s.stats.invalidIncarnations).toBe(1);
    expect(types(hear(s, T0 + 2, [{ kind: "left", id: "n2", incarnation: known + 1 }]))).toEqual(["left:n2"]);
  });

  test("no claim may name an incarnation beyond the clock's ceiling, not even an alive", () => {
    const s = core();
    const beyond = S0 + INCARNATION_SLACK_S + 1;
    expect(types(hear(s, T0, [{ kind: "alive", incarnation: beyond, info: info(5) }]))).toEqual([]);
    expect(s.member("n5")).toBeUndefined();
    expect(types(hear(s, T0, [{ kind: "alive", incarnation: beyond - 1, info: info(5) }]))).toEqual(["joined:n5"]);
    expect(s.stats.invalidIncarnations).toBe(1);
  });

  test("nobody can know this node's incarnation above its own: such a suspicion is not refuted", () => {
    const s = core();
    const out = hear(s, T0 + 1, [{ kind: "suspect", id: "n1", incarnation: S0 + 5, from: "n9" }]);
    expect(types(out)).toEqual([]);
    expect(s.incarnation).toBe(S0);
    expect(s.stats.invalidIncarnations).toBe(1);
    expect(types(hear(s, T0 + 2, [{ kind: "suspect", id: "n1", incarnation: S0, from: "n9" }]))).toEqual(["refuted:n1"]);
    expect(s.incarnation).toBe(S0 + 1);
  });

  test("a peer's table may hold this node's previous life above it (a restart): it starts above that", () => {
    const s = core();
    s.handle(T0 + 1, { type: "sync", join: true, members: [{ info: info(1), state: "dead", incarnation: S0 + 3 }] });
    expect(s.incarnation).toBe(S0 + 4);
  });

  test("refutations never take the incarnation more than REFUTE_AHEAD_S past the clock: the next waits for it", () => {
    const s = core(S0 + REFUTE_AHEAD_S - 1);
    const suspect = (inc: number): Update => ({ kind: "suspect", id: "n1", incarnation: inc, from: "n9" });
    expect(types(hear(s, T0 + 1, [suspect(S0 + REFUTE_AHEAD_S - 1)]))).toEqual(["refuted:n1"]);
    expect(s.incarnation).toBe(S0 + REFUTE_AHEAD_S);
    // One more would be ahead by REFUTE_AHEAD_S + 1 seconds: held until the clock has moved a second.
    const held = hear(s, T0 + 2, [suspect(S0 + REFUTE_AHEAD_S)]);
    expect(types(held)).toEqual([]);
    expect(held.wakeAt).toBeLessThanOrEqual(T0 + 1000);
    hear(s, T0 + 3, [suspect(S0 + REFUTE_AHEAD_S)]); // the same suspicion again: still one refutation
    const later = s.handle(T0 + 1000, { type: "tick" });
    expect(types(later)).toEqual(["refuted:n1"]);
    expect(s.incarnation).toBe(S0 + REFUTE_AHEAD_S + 1);
    expect(s.stats.refutations).toBe(2);
  });
});
