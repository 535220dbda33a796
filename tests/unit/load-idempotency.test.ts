import { describe, expect, test } from "bun:test";
import { IdempotencyWindow } from "../../src/load/idempotency.ts";

describe("IdempotencyWindow", () => {
  test("a packet id seen again is reported with where it went", () => {
    const w = new IdempotencyWindow(60_000, 100);
    expect(w.claim(0, "p1", "a:1")).toBeUndefined();
    expect(w.claim(10, "p1", "b:2")).toEqual({ handledBy: "a:1", at: 0 });
    w.update("p1", "c:3");
    expect(w.get(20, "p1")?.handledBy).toBe("c:3");
  });

  test("entries expire after the TTL", () => {
    const w = new IdempotencyWindow(1000, 100);
    w.claim(0, "old", "a:1");
    w.claim(600, "young", "a:1");
    expect(w.get(999, "old")).toBeDefined();
    expect(w.get(1000, "old")).toBeUndefined();
    expect(w.get(1000, "young")).toBeDefined();
    // Expired entries are swept from memory at most every ttl/10.
    expect(w.get(1200, "young")).toBeDefined();
    expect(w.size).toBe(1);
  });

  test("memory is bounded: the oldest entries go first", () => {
    const w = new IdempotencyWindow(60_000, 3);
    for (const id of ["a", "b", "c", "d"]) w.claim(0, id, "x:1");
    expect(w.size).toBe(3);
    expect(w.get(0, "a")).toBeUndefined();
    expect(w.get(0, "d")).toBeDefined();
  });

  test("a forgotten (refused) packet may be taken again", () => {
    const w = new IdempotencyWindow(60_000, 10);
    w.claim(0, "p", "a:1");
    w.forget("p");
    expect(w.claim(1, "p", "a:1")).toBeUndefined();
  });
});
