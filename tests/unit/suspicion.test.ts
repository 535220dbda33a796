import { describe, expect, test } from "bun:test";
import { Awareness } from "../../src/membership/awareness.ts";
import { openSuspicion, Suspicion, suspicionTimeout } from "../../src/membership/suspicion.ts";
import { profiles, retransmitLimit, suspicionMinMs, syncIntervalFor } from "../../src/membership/timing.ts";

describe("suspicion timeout", () => {
  test("starts at the maximum and falls logarithmically to the minimum with k confirmations", () => {
    expect(suspicionTimeout(2000, 12000, 3, 0)).toBe(12000);
    const one = suspicionTimeout(2000, 12000, 3, 1);
    const two = suspicionTimeout(2000, 12000, 3, 2);
    expect(one).toBe(7000); // 12000 - 10000 * log(2)/log(4)
    expect(two).toBeLessThan(one);
    expect(suspicionTimeout(2000, 12000, 3, 3)).toBe(2000);
    expect(suspicionTimeout(2000, 12000, 3, 10)).toBe(2000);
  });

  test("k = 0 (tiny cluster) means the minimum at once", () => {
    expect(suspicionTimeout(2000, 12000, 0, 0)).toBe(2000);
  });

  test("only distinct confirmers count, up to k", () => {
    const s = new Suspicion(7, 1000, 2000, 12000, 2, "a");
    expect(s.deadline).toBe(13000);
    expect(s.confirm("a")).toBe(false);
    expect(s.confirm("b")).toBe(true);
    expect(s.confirm("b")).toBe(false);
    expect(s.confirm("c")).toBe(true);
    expect(s.deadline).toBe(3000);
    expect(s.confirmations).toBe(2);
    // At the floor: more confirmers change nothing, and are not worth gossiping (as memberlist).
    expect(s.confirm("d")).toBe(false);
    expect(s.confirmations).toBe(2);
  });

  test("Timing.suspicionConfirmations: that many confirmers bring a new suspicion to the floor", () => {
    const t = { ...profiles.lan, suspicionConfirmations: 2 };
    const floor = suspicionMinMs(t, 10);
    const s = openSuspicion(t, 10, 1, 0, "a");
    expect(s.deadline).toBe(floor * t.suspicionMaxMult);
    s.confirm("b");
    s.confirm("c");
    expect(s.deadline).toBe(Math.floor(floor));
    // Too few members to confirm (only one besides us and the suspect): start at the floor.
    expect(openSuspicion(t, 3, 1, 0, "a").deadline).toBe(suspicionMinMs(t, 3));
    // Without confirmations the timeout is the floor whatever the size.
    expect(openSuspicion({ ...t, suspicionConfirmations: 0 }, 10, 1, 0, "a").deadline).toBe(floor);
    for (const p of Object.values(profiles)) expect(p.suspicionConfirmations).toBe(2);
  });

  test("the floor grows with log10(n); retransmits with log10(n+1)", () => {
    const lan = profiles.lan;
    expect(suspicionMinMs(lan, 5)).toBe(lan.suspicionMult * 1000);
    expect(suspicionMinMs(lan, 100)).toBe(lan.suspicionMult * 2 * 1000);
    expect(retransmitLimit(lan, 9)).toBe(lan.retransmitMult * 1);
    expect(retransmitLimit(lan, 10)).toBe(lan.retransmitMult * 2);
    expect(syncIntervalFor(lan, 32)).toBe(lan.syncIntervalMs);
    expect(syncIntervalFor(lan, 128)).toBe(lan.syncIntervalMs * 3);
  });
});

describe("local health awareness", () => {
  test("stretches timeouts by score + 1, bounded by the maximum", () => {
    const a = new Awareness(8);
    expect(a.scale(500)).toBe(500);
    a.apply(3);
    expect(a.scale(500)).toBe(2000);
    a.apply(100);
    expect(a.score).toBe(8);
    a.apply(-100);
    expect(a.score).toBe(0);
  });
});
