import { describe, expect, test } from "bun:test";
import { BroadcastQueue } from "../../src/membership/broadcast-queue.ts";
import type { Update } from "../../src/membership/types.ts";
import { encodedSize } from "../../src/wire/codec.ts";

const suspect = (id: string, inc = 1): Update => ({ kind: "suspect", id, incarnation: inc, from: "x" });

describe("broadcast queue", () => {
  test("each update is sent at most `limit` times", () => {
    const q = new BroadcastQueue(encodedSize);
    q.enqueue(suspect("a"));
    for (let i = 0; i < 3; i++) expect(q.take(1400, 3)).toHaveLength(1);
    expect(q.take(1400, 3)).toHaveLength(0);
    expect(q.length).toBe(0);
  });

  test("a newer claim about the same member replaces the older one; load queues separately", () => {
    const q = new BroadcastQueue(encodedSize);
    q.enqueue(suspect("a", 1));
    q.enqueue({ kind: "dead", id: "a", incarnation: 1, from: "x" });
    q.enqueue({ kind: "load", id: "a", load: { version: 1, backlog: 5 } });
    const got = q.take(1400, 5);
    expect(got.map((u) => u.kind).sort()).toEqual(["dead", "load"]);
  });

  test("stays within the byte budget, least-sent first", () => {
    const q = new BroadcastQueue(encodedSize);
    for (let i = 0; i < 200; i++) q.enqueue(suspect(`member-${i}`));
    const first = q.take(1400, 10);
    const size = first.reduce((s, u) => s + encodedSize(u), 0);
    expect(size).toBeLessThanOrEqual(1400);
    expect(first.length).toBeGreaterThan(10);
    const second = q.take(1400, 10);
    const firstIds = new Set(first.map((u) => (u as { id: string }).id));
    expect(second.some((u) => firstIds.has((u as { id: string }).id))).toBe(false);
  });

  test("an update larger than the budget is skipped, not truncated", () => {
    const q = new BroadcastQueue(encodedSize);
    q.enqueue(suspect("a"));
    expect(q.take(5, 3)).toEqual([]);
    expect(q.length).toBe(1);
  });
});
