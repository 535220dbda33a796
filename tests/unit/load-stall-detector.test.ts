import { expect, test } from "bun:test";
import { BEAT_MS, MAX_RECHECK_MS, RECHECK_MS, StallDetector } from "../../src/load/stall-detector.ts";
import type { Ticker } from "../../src/load/ticker.ts";

function detector() {
  let now = 0;
  const beats: (() => void)[] = [];
  let stopped = 0;
  const ticker: Ticker = (ms, fn) => {
    expect(ms).toBe(BEAT_MS);
    beats.push(fn);
    return () => void stopped++;
  };
  const d = new StallDetector(() => now, ticker);
  return { d, beats, stopped: () => stopped, at: (t: number) => void (now = t) };
}

test("a steady heartbeat is no stall", () => {
  const { d, beats, at } = detector();
  d.start();
  for (let t = 100; t <= 5000; t += 100) {
    at(t);
    beats[0]!();
    expect(d.check(t)).toBe(false);
  }
});

/** The heartbeat runs every BEAT_MS from `from` to `to` (the event loop is healthy meanwhile); the last check's answer. */
function run(d: StallDetector, from: number, to: number): boolean {
  let stalled = false;
  for (let t = from; t <= to; t += BEAT_MS) stalled = d.check(t);
  return stalled;
}

test("a gap longer than the stall limit turns checks on for RECHECK_MS at least", () => {
  const { d } = detector();
  d.start();
  expect(d.check(1000)).toBe(true); // 1 s without a beat: frozen
  expect(run(d, 1100, 1000 + RECHECK_MS - 100)).toBe(true);
  expect(run(d, 1000 + RECHECK_MS, 1000 + RECHECK_MS + 100)).toBe(false);
});

test("the check window lasts as long as the freeze did, up to a bound", () => {
  const { d } = detector();
  d.start();
  expect(d.check(6000)).toBe(true);
  expect(run(d, 6100, 11_900)).toBe(true); // a 6 s freeze: checks for 6 s
  expect(run(d, 12_000, 12_100)).toBe(false);
  expect(d.check(72_100)).toBe(true); // a 60 s freeze…
  expect(run(d, 72_200, 72_100 + MAX_RECHECK_MS - 100)).toBe(true);
  expect(run(d, 72_100 + MAX_RECHECK_MS, 72_100 + MAX_RECHECK_MS + 100)).toBe(false); // …checks for 10 s at most
});

test("never stalled before start or after stop; stop cancels the heartbeat", () => {
  const { d, stopped } = detector();
  expect(d.check(10_000)).toBe(false);
  d.start();
  d.start(); // idempotent: one heartbeat
  d.stop();
  expect(stopped()).toBe(1);
  expect(d.check(50_000)).toBe(false);
});
