/**
 * Member tables keep rows by the directory's member numbers. A node's own directory forgets
 * what its table forgets; the simulator's one directory is shared by every node, and so are the
 * rows of a warm start, until a table writes to its row.
 */
import { describe, expect, test } from "bun:test";
import { MemberDirectory } from "../../src/membership/member-directory.ts";
import { ALIVE, DEAD, MemberTable } from "../../src/membership/member-table.ts";
import type { MemberSnapshot, NodeInfo } from "../../src/membership/types.ts";

const info = (n: number, port = 7946): NodeInfo => ({ id: `n${n}`, name: `node-${n}`, gossip: `10.0.0.${n}:${port}`, http: `10.0.0.${n}:5000`, capacity: 100 });
const settled = (n: number): MemberSnapshot => ({ info: info(n), state: "alive", incarnation: 0 });

describe("member tables by number", () => {
  test("tables sharing a directory share the warm start's rows; a write copies the row for that table alone", () => {
    const dir = new MemberDirectory(true);
    const everyone = [1, 2, 3, 4].map(settled);
    const tables = [1, 2, 3].map((n) => new MemberTable(info(n), 0, 0, dir));
    for (const t of tables) for (const s of everyone) if (s.info.id !== t.self.info.id) t.addSettled(s, 0);
    const [a, b, c] = tables as [MemberTable, MemberTable, MemberTable];
    expect(a.get("n4")).toBe(b.get("n4")!);
    expect(a.get("n4")).toBe(c.get("n4")!);
    const before = a.inspectMember("n4")!;

    const dead = a.enter(a.get("n4")!, DEAD, 0, 500);
    expect(a.get("n4")).toBe(dead);
    expect(dead).not.toBe(b.get("n4")!);
    expect([a.get("n4")!.state, b.get("n4")!.state, c.get("n4")!.state]).toEqual(["dead", "alive", "alive"]);
    expect(b.get("n4")).toBe(c.get("n4")!);
    // Still the same row to a checker: only forgetting a member and learning it again makes a new one.
    expect(a.inspectMember("n4")!.row).toBe(before.row);
    expect(a.gone().has(dead)).toBe(true);
    expect([...a.live()].map((m) => m.info.id)).toEqual(["n2", "n3"]);
    expect([...b.live()].map((m) => m.info.id)).toEqual(["n1", "n3", "n4"]);
    for (const t of tables) expect(t.inspect().strays).toEqual([]);
  });

  test("a shared row written without the table's copy fails loudly instead of changing every table", () => {
    const dir = new MemberDirectory(true);
    const t = new MemberTable(info(1), 0, 0, dir);
    const row = t.addSettled(settled(2), 0);
    expect(() => {
      (row as { incarnation: number }).incarnation = 9;
    }).toThrow(TypeError);
  });

  test("a node's own directory forgets what its table forgets: invented members cannot grow it", () => {
    const dir = new MemberDirectory();
    const t = new MemberTable(info(1), 0, 0, dir);
    for (let round = 0; round < 5; round++) {
      const phantoms = Array.from({ length: 1000 }, (_, i) => t.add(info(2 + i, 9000 + round), ALIVE, 0, 0));
      expect(dir.size).toBe(1001);
      for (const p of phantoms) t.remove(p);
      expect(dir.size).toBe(1);
    }
    // Numbers are reused, and a reused number finds the right member and address.
    const m = t.add(info(7), ALIVE, 0, 0);
    expect(t.get("n7")).toBe(m);
    expect(t.holderOf(info(7).gossip)).toBe("n7");
    expect(t.holderOf(info(7, 9004).gossip)).toBeUndefined();
    expect(t.inspect().strays).toEqual([]);
  });

  test("a member that moves holds its new address only; another table of a shared directory still holds the old one", () => {
    const dir = new MemberDirectory(true);
    const a = new MemberTable(info(1), 0, 0, dir);
    const b = new MemberTable(info(2), 0, 0, dir);
    a.addSettled(settled(3), 0);
    b.addSettled(settled(3), 0);
    const moved = { ...info(3), gossip: "10.0.9.9:7946" };
    a.readdress(a.get("n3")!, moved);
    expect([a.holderOf(moved.gossip), a.holderOf(info(3).gossip)]).toEqual(["n3", undefined]);
    expect([b.holderOf(moved.gossip), b.holderOf(info(3).gossip)]).toEqual([undefined, "n3"]);
    expect(a.inspectMember("n3")!.addressIndexed).toBe(true);
    expect(b.inspectMember("n3")!.addressIndexed).toBe(true);
  });
});
