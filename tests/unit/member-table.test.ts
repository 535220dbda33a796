import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { memberTableStats, syncResponseSchema } from "../../src/wire/sync-schema.ts";

const entry = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: id,
  gossip: "127.0.0.1:5000",
  http: "127.0.0.1:5000",
  capacity: 100,
  state: "alive",
  incarnation: 3,
  ...extra,
});

describe("member tables from other nodes", () => {
  test("an entry that cannot be accepted is dropped and counted; the rest is kept", () => {
    const before = memberTableStats.entriesDropped;
    const parsed = v.safeParse(syncResponseSchema, {
      members: [
        entry("a"),
        entry("b", { load: { version: 1796054882601.5452, backlog: 3 } }),
        entry("c", { state: "zombie" }),
        entry("e", { tags: ["a"] }),
        entry("f", { capacity: Number.POSITIVE_INFINITY }),
        "garbage",
        entry("d", { load: { version: 1796054882601, backlog: 3 } }),
      ],
    });
    if (!parsed.success) throw new Error("refused");
    expect(parsed.output.members.map((m) => m.info.id)).toEqual(["a", "d"]);
    expect(parsed.output.members[1]!.load).toEqual({ version: 1796054882601, backlog: 3 });
    expect(memberTableStats.entriesDropped - before).toBe(5);
  });

  test("the table's own shape stays strict; a newer build's extra fields are ignored", () => {
    expect(v.safeParse(syncResponseSchema, { members: "x" }).success).toBe(false);
    expect(v.safeParse(syncResponseSchema, { members: [], extra: 1 }).success).toBe(true);
    expect(v.safeParse(syncResponseSchema, { members: [], protocol: { min: 2, max: 1 } }).success).toBe(false);
    expect(v.safeParse(syncResponseSchema, { members: Array.from({ length: 10_001 }, () => 0) }).success).toBe(false);
  });
});
