import { describe, expect, test } from "bun:test";
import type { AsyncExecutor, Outcome } from "../../src/load/executor.ts";
import { synthetic } from "../../src/load/executor.ts";
import { type Finished, PacketQueue, type QueueClock } from "../../src/load/packet-queue.ts";

/** A clock the test moves; timers fire when it passes them. */
function fakeClock(start = 0) {
  let now = start;
  const timers: { at: number; fn: () => void }[] = [];
  const clock: QueueClock = {
    now: () => now,
    setTimer: (ms, fn) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => timers.splice(timers.indexOf(t), 1);
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers.filter((t) => t.at <= now)) {
      timers.splice(timers.indexOf(t), 1);
      t.fn();
    }
  };
  return { clock, advance, now: () => now };
}

function syntheticQueue(capacity: number, start = 0) {
  const c = fakeClock(start);
  const finished: Finished[] = [];
  const q = new PacketQueue(synthetic, capacity, { node: "n", timeout_ms: 1000 }, (f) => void finished.push(f), c.clock);
  return { q, finished, ...c };
}

describe("PacketQueue with the synthetic handler (the seed's draining queue, packet by packet)", () => {
  test("drains at capacity units per second and never below zero", () => {
    const { q } = syntheticQueue(1000);
    q.add({ id: "a", units: 500 }, 0);
    expect(q.backlog(0)).toBe(500);
    expect(q.seconds(0)).toBe(0.5);
    expect(q.backlog(250)).toBe(250);
    expect(q.backlog(500)).toBe(0);
    expect(q.backlog(10_000)).toBe(0);
  });

  test("each packet holds the slot for units / capacity seconds; the next starts when it finishes", () => {
    const { q, finished, advance } = syntheticQueue(100);
    q.add({ id: "a", units: 50, deviceId: "d1" }, 0);
    q.add({ id: "b", units: 100, deviceId: "d2" }, 0);
    expect(q.state("a", 0)).toMatchObject({ state: "running" });
    expect(q.state("b", 0)).toMatchObject({ state: "queued" });
    expect(q.deviceUnits("d2")).toBe(100);
    advance(500); // the timer at a's finishing time fires
    expect(finished.map((f) => [f.packet.id, f.startedAt, f.finishedAt])).toEqual([["a", 0, 500]]);
    expect(finished[0]!.outcome).toEqual({ ok: true, result: { units: 50 } });
    expect(q.state("b", 500)).toMatchObject({ state: "running", startedAt: 500 });
    advance(1000);
    expect(finished.map((f) => f.packet.id)).toEqual(["a", "b"]);
    expect(q.state("b")).toBeUndefined();
    expect(q.devices).toBe(0);
    expect(q.done).toBe(2);
  });

  test("a late look finishes every packet due, each at its own time (no idle slot banked or lost)", () => {
    const { q, finished } = syntheticQueue(100);
    for (const id of ["a", "b", "c"]) q.add({ id, units: 10 }, 0);
    expect(q.backlog(250)).toBeCloseTo(5); // read without timers: a, b finished at 100, 200
    expect(finished.map((f) => f.finishedAt)).toEqual([100, 200]);
  });

  test("counts processed work: finished packets plus the running one's part", () => {
    const { q } = syntheticQueue(200);
    q.add({ id: "a", units: 100 }, 0);
    q.add({ id: "b", units: 100 }, 100); // 20 units of a done by now
    expect(q.backlog(100)).toBeCloseTo(180);
    expect(q.processed(100)).toBeCloseTo(20);
    expect(q.processed(2000)).toBe(200);
    expect(q.added).toBe(200);
  });

  test("idle time is not banked: a queue empty for a while starts from zero", () => {
    const { q } = syntheticQueue(100);
    q.backlog(5000);
    q.add({ id: "a", units: 50 }, 5000);
    expect(q.backlog(5000)).toBe(50);
    expect(q.backlog(5250)).toBe(25);
  });

  test("a clock going backwards does not grow the backlog", () => {
    const { q } = syntheticQueue(100, 1000);
    q.add({ id: "a", units: 100 }, 1000);
    expect(q.backlog(900)).toBe(100);
  });

  test("rejects a non-positive capacity", () => {
    expect(() => syntheticQueue(0)).toThrow();
  });
});

describe("PacketQueue with a user handler", () => {
  function asyncQueue(slots: number, promised = 1000) {
    const c = fakeClock();
    const calls: { id: string; resolve: (o: Outcome) => void }[] = [];
    const ex: AsyncExecutor = {
      kind: "async",
      name: "test",
      slots,
      run: (p) => new Promise((resolve) => calls.push({ id: p.packet_id, resolve })),
      close: async () => {},
    };
    const finished: Finished[] = [];
    const q = new PacketQueue(ex, promised, { node: "n", timeout_ms: 1000 }, (f) => void finished.push(f), c.clock);
    return { q, calls, finished, ...c };
  }

  test("runs at most `slots` packets at once, in arrival order", async () => {
    const { q, calls, finished, advance } = asyncQueue(2);
    for (const id of ["a", "b", "c"]) q.add({ id, units: 10 });
    expect(calls.map((c) => c.id)).toEqual(["a", "b"]);
    expect(q.state("c")?.state).toBe("queued");
    advance(50);
    calls[0]!.resolve({ ok: false, error: "boom" });
    await Bun.sleep(0);
    expect(calls.map((c) => c.id)).toEqual(["a", "b", "c"]);
    expect(finished[0]).toMatchObject({ packet: { id: "a" }, outcome: { ok: false, error: "boom" }, finishedAt: 50 });
    expect(q.failed).toBe(1);
  });

  test("capacity is measured (capped by the promise) and the backlog in seconds follows it", async () => {
    const { q, calls, advance } = asyncQueue(2, 1000);
    expect(q.capacity()).toBe(1000); // nothing measured yet: the promise stands
    // Packets of 10 units that take 100 ms each on 2 slots: 200 units/s.
    for (let i = 0; i < 40; i++) q.add({ id: `p${i}`, units: 10 });
    for (let i = 0; i < 30; i += 2) {
      advance(100);
      calls[i]!.resolve({ ok: true, result: i });
      calls[i + 1]!.resolve({ ok: true, result: i });
      await Bun.sleep(0);
    }
    expect(q.capacity()).toBeCloseTo(200, 0);
    // 8 queued (80 units at 200/s = 0.4 s) + 2 just started (0.1 s each on 2 slots = 0.1 s).
    expect(q.queued).toBe(8);
    expect(q.seconds()).toBeCloseTo(0.5, 2);
    expect(q.backlog()).toBeCloseTo(500, 0); // in units of the promised capacity, for peers
  });
});

test("ServiceRate: the node's throughput while packets wait caps what the handler alone could do", async () => {
  const { ServiceRate } = await import("../../src/load/service-rate.ts");
  const r = new ServiceRate(2, 1e9);
  for (let i = 0; i < 50; i++) r.observe(100, 0.001); // the handler: 100 units in 1 ms on each of 2 Workers
  expect(r.capacity()).toBeCloseTo(200_000, -2);
  for (let i = 0; i < 50; i++) r.observeBacklogged(100, 0.01); // but the node finishes one every 10 ms
  expect(r.capacity()).toBeCloseTo(10_000, -2);
});
