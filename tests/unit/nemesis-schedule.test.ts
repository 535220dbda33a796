/** The soak's fault schedule: a seed replays it exactly, and every kind of fault is in it. */
import { expect, test } from "bun:test";
import { allNodeNames, FAULT_KINDS, makeSchedule, PROFILES } from "../support/nemesis/schedule.ts";

test("the same seed gives the same schedule; another seed another one", () => {
  expect(makeSchedule(42, PROFILES.long)).toEqual(makeSchedule(42, PROFILES.long));
  expect(makeSchedule(42, PROFILES.long)).not.toEqual(makeSchedule(43, PROFILES.long));
});

test("the short profile runs one fault of each kind", () => {
  for (const seed of [1, 2, 3, 99, 12345]) {
    const kinds = makeSchedule(seed, PROFILES.short).map((s) => s.fault.kind);
    expect([...kinds].sort()).toEqual([...FAULT_KINDS].sort());
  }
});

test("faults stay within the profile: targets exist, durations in range, node cap held", () => {
  for (const seed of [7, 8, 9]) {
    const p = PROFILES.long;
    const steps = makeSchedule(seed, p);
    expect(steps).toHaveLength(p.faults);
    const names = allNodeNames(steps, p);
    expect(names.length).toBeLessThanOrEqual(p.maxNodes);
    const members = new Set(names.slice(0, p.nodes));
    for (const s of steps) {
      const f = s.fault;
      expect(s.calmMs).toBeGreaterThanOrEqual(p.calmMs.min);
      expect(s.calmMs).toBeLessThanOrEqual(p.calmMs.max);
      if (f.kind === "newcomer") {
        expect(members.has(f.through)).toBe(true);
        expect(members.has(f.name)).toBe(false);
        members.add(f.name);
        continue;
      }
      expect(f.durationMs).toBeGreaterThanOrEqual(p.durationMs[f.kind].min);
      expect(f.durationMs).toBeLessThanOrEqual(p.durationMs[f.kind].max);
      if (f.kind === "partition") {
        const [a, b] = f.sides;
        expect(a.length).toBeGreaterThanOrEqual(1);
        expect(a.length).toBeLessThanOrEqual(b.length);
        expect(new Set([...a, ...b])).toEqual(members);
      } else if (f.kind === "loss") {
        expect(f.rate).toBeGreaterThanOrEqual(p.lossRate.min);
        expect(f.rate).toBeLessThanOrEqual(p.lossRate.max);
      } else expect(members.has(f.target)).toBe(true);
    }
  }
});
