import { expect, test } from "bun:test";
import { Directory } from "../../esp/directory.ts";
import { seededRandom } from "../../src/util/random.ts";

function dir(entries: [string, number, number, boolean?][]): Directory {
  const d = new Directory(["seed:1"], 100);
  d.nodes.clear();
  for (const [http, capacity, ratio, preferred] of entries) d.nodes.set(http, { http, capacity, ratio, downUntil: 0, preferred: preferred ?? false });
  return d;
}

function share(d: Directory, n = 20_000, avoid = new Set<string>()): Record<string, number> {
  const rnd = seededRandom(11);
  const c: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const h = d.choose(rnd, avoid)!;
    c[h] = (c[h] ?? 0) + 1 / n;
  }
  return c;
}

test("devices spread by capacity while loads look alike", () => {
  const s = share(
    dir([
      ["a:1", 1000, 0.1],
      ["b:1", 500, 0.2],
      ["c:1", 500, 0],
    ]),
  );
  expect(s["a:1"]!).toBeCloseTo(0.5, 1);
  expect(s["b:1"]!).toBeCloseTo(0.25, 1);
});

test("a clearly loaded node is avoided", () => {
  const s = share(
    dir([
      ["a:1", 1000, 3],
      ["b:1", 1000, 0],
    ]),
  );
  expect(s["a:1"]!).toBeLessThan(0.3);
});

test("nodes marked down and nodes to avoid are skipped while others remain", () => {
  const d = dir([
    ["a:1", 1000, 0],
    ["b:1", 1000, 0],
    ["c:1", 1000, 0],
  ]);
  d.markDown("a:1", 10_000);
  const s = share(d, 2000, new Set(["b:1"]));
  expect(s).toEqual({ "c:1": expect.closeTo(1, 5) });
  expect(d.isUsable("a:1")).toBe(false);
  // Everything down: still try something rather than nothing.
  d.markDown("c:1", 10_000);
  expect(d.choose(Math.random, new Set(["b:1"]))).toBeDefined();
});

test("--prefer-tag: devices stay on the preferred nodes while they are up and not full", () => {
  const near = (ratio: number): [string, number, number, boolean] => ["near:1", 500, ratio, true];
  const far: [string, number, number] = ["far:1", 5000, 0];
  expect(Object.keys(share(dir([near(1), far])))).toEqual(["near:1"]);
  // Full: every node again, and the idle far one takes nearly all.
  expect(share(dir([near(4.5), far]))["far:1"]!).toBeGreaterThan(0.95);
  // Avoided after a refusal: off site.
  expect(Object.keys(share(dir([near(1), far]), 100, new Set(["near:1"])))).toEqual(["far:1"]);
});
