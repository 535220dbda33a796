import { describe, expect, test } from "bun:test";
import { supersedes } from "../../src/membership/precedence.ts";

const c = (state: "alive" | "suspect" | "dead" | "left", incarnation: number) => ({ state, incarnation });

describe("merge precedence", () => {
  test("an unknown member is learned only from an alive claim", () => {
    expect(supersedes(undefined, c("alive", 0))).toBe(true);
    for (const s of ["suspect", "dead", "left"] as const) expect(supersedes(undefined, c(s, 5))).toBe(false);
  });

  test("at equal incarnation: alive < suspect < dead < left", () => {
    expect(supersedes(c("alive", 3), c("suspect", 3))).toBe(true);
    expect(supersedes(c("suspect", 3), c("alive", 3))).toBe(false);
    expect(supersedes(c("suspect", 3), c("dead", 3))).toBe(true);
    expect(supersedes(c("dead", 3), c("left", 3))).toBe(true);
    expect(supersedes(c("left", 3), c("dead", 3))).toBe(false);
    expect(supersedes(c("alive", 3), c("alive", 3))).toBe(false);
  });

  test("a higher incarnation wins among live states; a lower one never does", () => {
    expect(supersedes(c("suspect", 3), c("alive", 4))).toBe(true);
    expect(supersedes(c("alive", 3), c("suspect", 4))).toBe(true);
    expect(supersedes(c("alive", 4), c("dead", 3))).toBe(false);
    expect(supersedes(c("suspect", 4), c("alive", 3))).toBe(false);
  });

  test("a dead or left member comes back only through a newer alive", () => {
    expect(supersedes(c("dead", 3), c("alive", 3))).toBe(false);
    expect(supersedes(c("dead", 3), c("alive", 4))).toBe(true);
    expect(supersedes(c("left", 3), c("alive", 4))).toBe(true);
    expect(supersedes(c("dead", 3), c("suspect", 9))).toBe(false);
    expect(supersedes(c("left", 3), c("dead", 9))).toBe(false);
  });
});
