import { describe, expect, test } from "bun:test";
import { WorkQueue } from "../../src/load/work-queue.ts";

describe("WorkQueue", () => {
  test("drains at capacity units per second and never below zero", () => {
    const q = new WorkQueue(1000, 0);
    q.add(0, 500);
    expect(q.backlog(0)).toBe(500);
    expect(q.loadRatio(0)).toBe(0.5);
    expect(q.backlog(250)).toBe(250);
    expect(q.backlog(500)).toBe(0);
    expect(q.backlog(10_000)).toBe(0);
  });

  test("counts processed work: added minus what is still queued", () => {
    const q = new WorkQueue(200, 0);
    q.add(0, 100);
    q.add(100, 100); // 20 units drained by now
    expect(q.backlog(100)).toBe(180);
    expect(q.processed(100)).toBe(20);
    expect(q.processed(2000)).toBe(200);
    expect(q.added).toBe(200);
  });

  test("idle time is not banked: a queue empty for a while starts from zero", () => {
    const q = new WorkQueue(100, 0);
    q.backlog(5000);
    q.add(5000, 50);
    expect(q.backlog(5000)).toBe(50);
    expect(q.backlog(5250)).toBe(25);
  });

  test("a clock going backwards does not grow the backlog", () => {
    const q = new WorkQueue(100, 1000);
    q.add(1000, 100);
    expect(q.backlog(900)).toBe(100);
  });

  test("rejects a non-positive capacity", () => {
    expect(() => new WorkQueue(0, 0)).toThrow();
  });
});
