import { describe, expect, test } from "bun:test";
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
    const parsed = syncResponseSchema.safeParse({
      members: [
        entry("a"),
        entry("b", { load: { version: 1796054882601.5452, backlog: 3 } }),
        entry("c", { state: "zombie" }),
        "garbage",
        entry("d", { load: { version: 1796054882601, backlog: 3 } }),
      ],
    });
    expect(parsed.success).toBe(true);
    expect(parsed.data!.members.map((m) => m.info.id)).toEqual(["a", "d"]);
    expect(parsed.data!.members[1]!.load).toEqual({ version: 1796054882601, backlog: 3 });
    expect(memberTableStats.entriesDropped - before).toBe(3);
  });

  test("the table's own shape stays strict; a newer build's extra fields are ignored", () => {
    expect(syncResponseSchema.safeParse({ members: "x" }).success).toBe(false);
    expect(syncResponseSchema.safeParse({ members: [], extra: 1 }).success).toBe(true);
    expect(syncResponseSchema.safeParse({ members: [], protocol: { min: 2, max: 1 } }).success).toBe(false);
    expect(syncResponseSchema.safeParse({ members: Array.from({ length: 10_001 }, () => 0) }).success).toBe(false);
  });
});
