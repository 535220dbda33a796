import { expect, test } from "bun:test";
import { seededRandom } from "../../src/util/random.ts";
import { shuffle } from "../../src/util/shuffle.ts";

test("the same seed replays the same numbers, in [0, 1); another seed differs", () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const xs = Array.from({ length: 1000 }, () => a());
  expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
  expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  expect(seededRandom(43)()).not.toBe(xs[0]);
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
});

test("shuffle keeps the elements and makes every order about equally likely", () => {
  const random = seededRandom(7);
  const counts = new Map<string, number>();
  const N = 60_000;
  for (let i = 0; i < N; i++) {
    const order = shuffle([1, 2, 3], random).join("");
    counts.set(order, (counts.get(order) ?? 0) + 1);
  }
  expect([...counts.keys()].sort()).toEqual(["123", "132", "213", "231", "312", "321"]);
  for (const c of counts.values()) expect(Math.abs(c - N / 6)).toBeLessThan(N / 6 / 10);
  const xs = [5, 4, 3, 2, 1];
  expect(shuffle(xs, random)).toBe(xs); // in place
  expect([...xs].sort()).toEqual([1, 2, 3, 4, 5]);
  expect(shuffle([], random)).toEqual([]);
});
