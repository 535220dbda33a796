import { describe, expect, test } from "bun:test";
import { IdempotencyWindow } from "../../src/load/idempotency.ts";

describe("IdempotencyWindow", () => {
  test("a new id becomes pending; once settled a repeat is reported with where it went", () => {
    const w = new IdempotencyWindow(60_000, 100);
    expect(w.begin(0, "p1", "a:1")).toBeUndefined();
    expect(w.begin(5, "p1", "a:1")).toMatchObject({ state: "pending", handledBy: "a:1" });
    w.settle("p1", "c:3");
    expect(w.begin(10, "p1", "a:1")).toMatchObject({ state: "done", handledBy: "c:3" });
  });

  test("an id other nodes asked about is handed back with the askers, then pending", () => {
    const w = new IdempotencyWindow(60_000, 100);
    expect(w.ask(0, "p", "b:2")).toBeUndefined();
    expect(w.ask(1, "p", "c:3")).toBeUndefined();
    expect(w.begin(2, "p", "a:1")).toMatchObject({ state: "asked", askers: ["b:2", "c:3"] });
    expect(w.ask(3, "p", "b:2")).toMatchObject({ state: "pending", handledBy: "a:1" });
    w.settle("p", "a:1");
    expect(w.ask(4, "p", "b:2")).toMatchObject({ state: "done", handledBy: "a:1" });
  });

  test("entries expire after the TTL", () => {
    const w = new IdempotencyWindow(1000, 100);
    w.begin(0, "old", "a:1");
    w.begin(600, "young", "a:1");
    expect(w.get(999, "old")).toBeDefined();
    expect(w.get(1000, "old")).toBeUndefined();
    expect(w.get(1000, "young")).toBeDefined();
    // Expired entries are swept from memory at most every ttl/10.
    expect(w.get(1200, "young")).toBeDefined();
    expect(w.size).toBe(1);
    // An expired id is new again.
    expect(w.begin(1700, "old", "a:1")).toBeUndefined();
  });

  test("memory is bounded: the oldest entries go first, asked ones included", () => {
    const w = new IdempotencyWindow(60_000, 3);
    for (const id of ["a", "b", "c"]) w.begin(0, id, "x:1");
    w.ask(0, "d", "y:2");
    expect(w.size).toBe(3);
    expect(w.get(0, "a")).toBeUndefined();
    expect(w.get(0, "d")).toBeDefined();
  });

  test("a forgotten (refused) packet may be taken again", () => {
    const w = new IdempotencyWindow(60_000, 10);
    w.begin(0, "p", "a:1");
    w.forget("p");
    expect(w.begin(1, "p", "a:1")).toBeUndefined();
  });
});

describe("IdempotencyWindow memory bound", () => {
  test("long ids and asker lists are bounded in bytes, oldest first", () => {
    const w = new IdempotencyWindow(60_000, 1_000_000, 64 * 1024);
    const long = "x".repeat(120);
    for (let i = 0; i < 10_000; i++) {
      w.ask(i, `${long}-${i}`, `127.0.0.${i % 250}:${5000 + (i % 9)}`);
      w.ask(i, `${long}-${i}`, `10.0.0.${i % 250}:${6000 + (i % 9)}`);
    }
    expect(w.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(w.size).toBeGreaterThan(50);
    expect(w.size).toBeLessThan(400);
    // The newest are kept.
    expect(w.get(9_999, `${long}-9999`)?.state).toBe("asked");
    expect(w.get(9_999, `${long}-0`)).toBeUndefined();
    // Forgetting everything brings the count back to zero.
    for (let i = 0; i < 10_000; i++) w.forget(`${long}-${i}`);
    expect(w.bytes).toBe(0);
  });
});
