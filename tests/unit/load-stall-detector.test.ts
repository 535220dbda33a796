import { expect, test } from "bun:test";
import { MAX_RECHECK_MS, RECHECK_MS, STALL_MS, StallDetector } from "../../src/load/stall-detector.ts";

const BEAT = 1000;

/** A detector beaten every BEAT ms by the caller, with SIGCONT delivered by hand. */
function detector() {
  let resume: (() => void) | undefined;
  let watching = 0;
  const d = new StallDetector(
    () => 0,
    BEAT,
    (fn) => {
      resume = fn;
      watching++;
      return () => void watching--;
    },
  );
  return { d, sigcont: () => resume?.(), watching: () => watching };
}

/** The event loop runs smoothly from `from` to `to`: beats every BEAT, requests every 100 ms; the last check's answer. */
function run(d: StallDetector, from: number, to: number): boolean {
  let stalled = false;
  for (let t = from; t <= to; t += 100) {
    if (t % BEAT === 0) d.beat(t);
    stalled = d.check(t);
  }
  return stalled;
}

test("steady beats are no stall, and nor is a beat up to STALL_MS late", () => {
  const { d } = detector();
  d.start();
  expect(run(d, 0, 10_000)).toBe(false);
  expect(d.check(11_000 + STALL_MS - 10)).toBe(false);
});

test("a beat overdue by more than STALL_MS turns checks on for RECHECK_MS at least", () => {
  const { d } = detector();
  d.start();
  d.beat(0);
  expect(d.check(BEAT + STALL_MS + 100)).toBe(true); // frozen: the beat did not come
  expect(run(d, 2000, BEAT + STALL_MS + 100 + RECHECK_MS - 100)).toBe(true);
  expect(run(d, 4000, 5000)).toBe(false);
});

test("the check window lasts as long as the freeze did, up to a bound", () => {
  const { d } = detector();
  d.start();
  d.beat(0);
  expect(d.check(6000)).toBe(true); // a 6 s freeze: checks for 6 s
  expect(run(d, 6100, 11_900)).toBe(true);
  expect(run(d, 12_000, 12_100)).toBe(false);
  expect(d.check(72_100)).toBe(true); // a 60 s freeze…
  expect(run(d, 73_000, 72_100 + MAX_RECHECK_MS - 100)).toBe(true);
  expect(run(d, 72_100 + MAX_RECHECK_MS, 72_100 + MAX_RECHECK_MS + 100)).toBe(false); // …checks for 10 s at most
});

test("SIGCONT (the end of a SIGSTOP) is a stall at once, even one shorter than a beat", () => {
  const { d, sigcont } = detector();
  d.start();
  d.beat(0);
  expect(d.check(400)).toBe(false);
  sigcont();
  expect(d.check(900)).toBe(true);
  expect(run(d, 1000, 900 + RECHECK_MS - 100)).toBe(true);
  expect(run(d, 900 + RECHECK_MS, 900 + RECHECK_MS + 500)).toBe(false);
});

test("never stalled before start or after stop; stop stops watching for SIGCONT", () => {
  const { d, watching } = detector();
  expect(d.check(10_000)).toBe(false);
  d.start();
  d.start(); // idempotent
  expect(watching()).toBe(1);
  d.stop();
  expect(watching()).toBe(0);
  expect(d.check(50_000)).toBe(false);
});
