/**
 * The soak's invariant checker on made-up poll rounds: it must flag a false death, a stale or
 * missing load figure and a schema drop, and must not flag what a fault excuses.
 */
import { expect, test } from "bun:test";
import { Checker, type NodeReading } from "../support/nemesis/checker.ts";
import type { PeerRow } from "../support/processes.ts";

const NAMES = ["a", "b", "c"];
const PORT = (n: string) => 1000 + NAMES.indexOf(n);

function row(name: string, self: boolean, state: PeerRow["state"] = "alive", load?: number): PeerRow {
  return {
    id: name,
    name,
    ip: "127.0.0.1",
    port: PORT(name),
    gossip_port: PORT(name),
    state,
    incarnation: 1,
    promised_capacity: 1000,
    last_change: "",
    self,
    ...(load === undefined ? {} : { current_load: load }),
  };
}

/** Every node sees every node alive with the given loads (observer → peer → figure). */
function readings(loads: Record<string, Record<string, number | undefined>>, states: Record<string, Record<string, PeerRow["state"]>> = {}): NodeReading[] {
  return NAMES.map((o) => ({
    name: o,
    generation: 0,
    ready: true,
    peers: NAMES.map((p) => row(p, p === o, states[o]?.[p] ?? "alive", loads[o]?.[p])),
    counters: { schema: 0, malformed: 0, updatesDropped: 0, entriesDropped: 0 },
  }));
}

function started(): Checker {
  const c = new Checker({ probeMs: 1000, pollMs: 400, loadBoundMs: 2400, loadSettleMs: 3000 });
  for (const n of NAMES) c.nodeStarted(0, n);
  c.faultEnded(-3000); // settled by t = 0
  return c;
}

const same = (v: number | undefined) => Object.fromEntries(NAMES.map((o) => [o, Object.fromEntries(NAMES.map((p) => [p, v]))]));

test("a whole cluster with current loads: no violations, and it is one cluster", () => {
  const c = started();
  for (let t = 0; t <= 10_000; t += 400) c.round(t, readings(same(5)));
  expect(c.violations).toEqual([]);
  expect(c.wholeSince).toBe(0);
  expect(c.checkedLoadPairs).toBeGreaterThan(0);
});

test("a node seen dead that is under no fault is a false death; under a kill it is not", () => {
  const c = started();
  c.round(0, readings(same(0), { a: { b: "dead" } }));
  expect(c.violations.map((v) => v.invariant)).toEqual(["no false deaths"]);
  expect(c.wholeSince).toBeUndefined();

  const d = started();
  d.faultStarted(100, { kind: "kill", target: "b", durationMs: 1000 });
  d.nodeDown("b");
  d.round(
    200,
    readings(same(0), { a: { b: "dead" }, c: { b: "dead" } }).filter((r) => r.name !== "b"),
  );
  expect(d.violations).toEqual([]);
});

test("across a partition's cut death is excused, within a side it is not", () => {
  const c = started();
  c.faultStarted(0, { kind: "partition", sides: [["a"], ["b", "c"]], durationMs: 5000 });
  c.round(100, readings(same(0), { a: { b: "dead", c: "dead" }, b: { a: "dead" } }));
  expect(c.violations).toEqual([]);
  c.round(500, readings(same(0), { b: { c: "dead" } }));
  expect(c.violations.map((v) => v.text)).toEqual(["b lists c as dead, though c is under no fault"]);

  // A suspicion across the cut may become a death just after the heal, and reach the node's own side first.
  const d = started();
  d.faultStarted(0, { kind: "partition", sides: [["a", "b"], ["c"]], durationMs: 5000 });
  d.round(100, readings(same(0), { c: { a: "suspect" } }));
  d.faultHealed();
  d.round(500, readings(same(0), { b: { a: "dead" } }));
  expect(d.violations).toEqual([]);
  d.round(900, readings(same(0), { a: { b: "dead" } })); // nobody across the cut doubted b
  expect(d.violations.map((v) => v.text)).toEqual(["a lists b as dead, though b is under no fault"]);
});

test("a peer's load unknown, or older than the bound, is flagged (after two rounds)", () => {
  const c = started();
  // b publishes 7 at t=0, but a never learns it.
  const loads = { a: { a: 1, b: undefined, c: 1 }, b: { a: 1, b: 7, c: 1 }, c: { a: 1, b: 7, c: 1 } };
  for (let t = 0; t <= 2000; t += 400) c.round(t, readings(loads));
  expect(c.violations).toEqual([]); // within the bound
  c.round(2400, readings(loads));
  expect(c.violations).toEqual([]); // first round behind: maybe a figure we never saw on its node
  c.round(2800, readings(loads));
  expect(c.violations.map((v) => v.invariant)).toEqual(["load known"]);
  expect(c.violations[0]!.text).toContain("a lists b's load as unknown");

  // a catches up: the violation ends; c then holds an old figure of b too long.
  const d = started();
  d.round(0, readings(same(3)));
  const after = (cb: number) => ({ a: { a: 3, b: 9, c: 3 }, b: { a: 3, b: 9, c: 3 }, c: { a: 3, b: cb, c: 3 } });
  for (let t = 400; t <= 3200; t += 400) d.round(t, readings(after(3)));
  expect(d.violations.map((v) => v.text)).toEqual([expect.stringContaining("c lists b's load as 3; b publishes 9")]);
  d.round(3600, readings(after(9)));
  expect(d.timeline.at(-1)!.text).toContain("over after");
});

test("load figures are not checked during a network fault nor while it settles", () => {
  const c = started();
  c.faultStarted(0, { kind: "loss", rate: 0.3, durationMs: 5000 });
  const stale = { a: { a: 1, b: 2, c: 3 }, b: { a: 1, b: 9, c: 3 }, c: { a: 1, b: 2, c: 3 } };
  for (let t = 0; t <= 6000; t += 400) c.round(t, readings(stale));
  c.faultEnded(6000);
  for (let t = 6400; t <= 8800; t += 400) c.round(t, readings(stale));
  expect(c.violations).toEqual([]);
  for (let t = 9200; t <= 10_000; t += 400) c.round(t, readings(stale));
  expect(c.violations.map((v) => v.invariant)).toEqual(["load known", "load known"]);
});

test("a schema drop is one violation per node, its count kept current; a restart resets the base", () => {
  const c = started();
  const withDrops = (schema: number, generation = 0) =>
    readings(same(0)).map((r) => (r.name === "a" ? { ...r, generation, counters: { ...r.counters!, schema } } : r));
  c.round(0, withDrops(0));
  c.round(400, withDrops(2));
  c.round(800, withDrops(5));
  expect(c.violations).toHaveLength(1);
  expect(c.violations[0]!.text).toBe("a dropped 5 input(s) from honest nodes (schema)");
  c.round(1200, withDrops(1, 1)); // a new process: 1 more
  expect(c.violations[0]!.text).toBe("a dropped 6 input(s) from honest nodes (schema)");
});

test("one cluster needs every running node ready and seeing every other alive", () => {
  const c = started();
  c.round(0, readings(same(0), { c: { a: "suspect" } }));
  expect(c.wholeSince).toBeUndefined();
  c.round(
    400,
    readings(same(0)).map((r) => (r.name === "b" ? { ...r, ready: false } : r)),
  );
  expect(c.wholeSince).toBeUndefined();
  c.round(800, readings(same(0)));
  expect(c.wholeSince).toBe(800);
  expect(c.violations).toEqual([]); // suspect is not dead
});
