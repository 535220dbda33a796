/** `dsef keys`: what a bad command line gets (exit 2, before any node is asked), and the report's table. */
import { expect, spyOn, test } from "bun:test";
import { formatReport, run } from "../../src/cli/keys-command.ts";

test("a bad command line is exit 2 with one line, and asks no node", async () => {
  const err = spyOn(console, "error").mockImplementation(() => {});
  const node = ["--node", "127.0.0.1:9"]; // nothing listens there: reaching it would be exit 1
  try {
    expect(await run(["frob", ...node])).toBe(2);
    expect(await run(["use", ...node])).toBe(2);
    expect(await run(["use", "not-a-kid", ...node])).toBe(2);
    expect(await run(["remove", "0011aabb", "ccdd0011", ...node])).toBe(2);
    expect(await run(["list", "0011aabb", ...node])).toBe(2);
    expect(await run(["install", "too-short", ...node])).toBe(2);
    expect(await run(["install", ...node], () => "# nothing but a comment\n")).toBe(2);
    expect(await run(["install", "--key-file", "/nonexistent/key", ...node])).toBe(2);
    expect(err.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringContaining('unknown argument "frob"'),
      expect.stringContaining("name the key"),
      expect.stringContaining("is not a key id"),
      expect.stringContaining("give one key"),
      expect.stringContaining("takes no key"),
      expect.stringContaining("at least 16 characters"),
      expect.stringContaining("no secret found"),
      expect.stringContaining("--key-file: cannot read"),
    ]);
    // A good command line against no node: exit 1, the reason.
    expect(await run(["use", "0011aabb", ...node, "--timeout", "500"])).toBe(1);
    expect(String(err.mock.calls.at(-1)?.[0])).toContain("cannot reach");
  } finally {
    err.mockRestore();
  }
});

test("the report: one row per key, held and sending out of all members, who lacks it; then who did not answer", () => {
  const text = formatReport({
    complete: false,
    members: 3,
    answered: 2,
    keys: [
      { kid: "0011aabb", held_by: 2, sending: 2, missing: [] },
      { kid: "ccdd0011", held_by: 1, sending: 0, missing: ["node2"] },
    ],
    unanswered: [{ name: "node3", why: "no answer within 2000 ms" }],
  });
  expect(text.split("\n")).toEqual([
    "KEY       HELD  SENDING  NOT HELD BY",
    "0011aabb  2/3   2/3      -",
    "ccdd0011  1/3   0/3      node2",
    "node3: no answer within 2000 ms",
  ]);
});
