/** Pure parts of the metrics and dashboard: round trips, request stats, rates, timeline, CLI table. */
import { describe, expect, test } from "bun:test";
import { membersTable } from "../../src/cli/members-command.ts";
import { normaliseNode } from "../../src/cli/node-client.ts";
import { statusText } from "../../src/cli/status-command.ts";
import { formatTable } from "../../src/cli/table.ts";
import { RateTracker } from "../../src/dashboard/cluster-stats.ts";
import { ForwardTally, memberEntry, RecentEntries } from "../../src/dashboard/timeline.ts";
import type { PeerView } from "../../src/http/peer-view.ts";
import { ProbeRtt } from "../../src/metrics/probe-rtt.ts";
import { RequestStats, requestOutcome } from "../../src/metrics/request-stats.ts";

describe("ProbeRtt", () => {
  test("measures from ping to first ack, once", () => {
    const r = new ProbeRtt();
    r.sent(7, 1000);
    expect(r.acked(7, 1003.5)).toBe(3.5);
    expect(r.acked(7, 1010)).toBeUndefined();
    expect(r.acked(99, 1010)).toBeUndefined();
  });
  test("forgets stale pings and stays bounded", () => {
    const r = new ProbeRtt(100, 4);
    for (let i = 0; i < 10; i++) r.sent(i, i);
    expect(r.pending).toBeLessThanOrEqual(4);
    r.sent(50, 1000);
    expect(r.acked(9, 1001)).toBeUndefined();
    expect(r.acked(50, 1001)).toBe(1);
  });
});

describe("RequestStats", () => {
  test("counts outcomes and active devices within the window", () => {
    const s = new RequestStats(1000, 3);
    s.record("accepted", 0, "a");
    s.record("forwarded", 10, "b");
    s.record("rejected", 20);
    s.record("accepted", 500, "a");
    expect(s.totals).toEqual({ accepted: 2, forwarded: 1, rejected: 1 });
    expect(s.activeDevices(600).sort()).toEqual(["a", "b"]);
    expect(s.activeDevices(1400)).toEqual(["a"]);
    for (const d of ["c", "d", "e", "f"]) s.record("accepted", 1500, d);
    expect(s.activeDevices(1500)).toHaveLength(3);
  });
});

test("requestOutcome classifies /handle_request replies", () => {
  const self = "10.0.0.1:5000";
  expect(requestOutcome(200, { handled_by: self }, self)).toBe("accepted");
  expect(requestOutcome(200, { handled_by: "10.0.0.2:5000" }, self)).toBe("forwarded");
  expect(requestOutcome(503, {}, self)).toBe("rejected");
  expect(requestOutcome(200, { handled_by: self, duplicate: true }, self)).toBeUndefined();
  expect(requestOutcome(400, {}, self)).toBeUndefined();
});

describe("RateTracker", () => {
  const st = (id: string, accepted: number, devices: string[] = []) => ({ id, requests: { accepted, forwarded: 0, rejected: 0 }, devices });
  test("turns totals into per-node and cluster rates, devices as a union", () => {
    const r = new RateTracker();
    r.observe(0, st("a", 0, ["d1"]));
    r.observe(0, st("b", 10, ["d1", "d2"]));
    r.observe(1000, st("a", 100, ["d1"]));
    r.observe(2000, st("b", 110, ["d2", "d3"]));
    const f = r.figures(["a", "b"]);
    expect(f.nodes.a!.rps).toBe(100);
    expect(f.nodes.b!.rps).toBe(50);
    expect(f.requests_per_s).toBe(150);
    expect(f.devices_active).toBe(3);
  });
  test("cluster requests/s counts a forwarded request once (where it was accepted)", () => {
    const r = new RateTracker();
    const t = (id: string, accepted: number, forwarded: number) => ({ id, requests: { accepted, forwarded, rejected: 0 }, devices: [] });
    r.observe(0, t("a", 0, 0));
    r.observe(0, t("b", 0, 0));
    r.observe(1000, t("a", 10, 5)); // 10 taken here, 5 sent on to b
    r.observe(1000, t("b", 5, 0));
    const f = r.figures(["a", "b"]);
    expect(f.nodes.a!.rps).toBe(15);
    expect(f.requests_per_s).toBe(15);
  });
  test("a restarted node (counter falls) gives no negative rate; gone nodes are dropped", () => {
    const r = new RateTracker();
    r.observe(0, st("a", 500));
    r.observe(1000, st("a", 3));
    expect(r.figures(["a"]).nodes.a!.rps).toBe(0);
    expect(r.figures([]).nodes).toEqual({});
  });
});

describe("timeline", () => {
  const member = { info: { id: "n1", name: "edge-1", gossip: "h:1", http: "h:2", capacity: 10 }, state: "dead" as const, incarnation: 4 };
  test("member events read as sentences", () => {
    const e = memberEntry({ type: "dead", at: 0, member, by: "n2", reason: "refused" }, 123);
    expect(e).toMatchObject({ at: 123, kind: "dead", id: "n1", name: "edge-1" });
    expect(e.text).toBe("edge-1 is dead (incarnation 4; by n2, refused)");
    expect(memberEntry({ type: "suspect", at: 0, member, by: "n2" }, 1, (id) => (id === "n2" ? "edge-2" : undefined)).text).toBe(
      "edge-1 is suspected (incarnation 4; by edge-2)",
    );
  });
  test("forwards are summed per destination", () => {
    const t = new ForwardTally();
    for (let i = 0; i < 5; i++) t.add("h:3");
    t.add("h:4");
    const out = t.flush(9, { id: "s", name: "self", addr: "h:2" }, (a) => (a === "h:3" ? "edge-3" : undefined));
    expect(out.map((e) => e.text)).toEqual(["self forwarded 5 requests to edge-3", "self forwarded 1 request to h:4"]);
    expect(t.flush(10, { id: "s", name: "self", addr: "h:2" })).toEqual([]);
  });
  test("recent entries are bounded", () => {
    const r = new RecentEntries(2);
    for (let i = 0; i < 5; i++) r.push({ at: i, kind: "joined", id: "", name: "", addr: "", text: String(i) });
    expect(r.list().map((e) => e.text)).toEqual(["3", "4"]);
  });
});

describe("CLI formatting", () => {
  test("tables align columns", () => {
    expect(
      formatTable(
        ["A", "BB"],
        [
          ["xxx", "y"],
          ["z", "w"],
        ],
      ),
    ).toBe("A    BB\nxxx  y\nz    w");
  });
  test("members table sorts by state and marks this node", () => {
    const p = (name: string, state: PeerView["state"], self = false): PeerView => ({
      id: `id-${name}`,
      name,
      ip: "10.0.0.1",
      port: 5000,
      gossip_port: 5000,
      state,
      incarnation: 1,
      promised_capacity: 800,
      last_change: new Date(0).toISOString(),
      self,
      current_load: 40,
      load_ratio: 0.05,
    });
    const out = membersTable([p("b", "dead"), p("a", "alive", true)], 65_000).split("\n");
    expect(out[1]).toMatch(/^a \*\s+10\.0\.0\.1:5000\s+alive\s+1\s+800\s+40\s+0\.05\s+1m ago\s+-\s+id-a$/);
    expect(out[2]).toContain("dead");
  });
  test("node addresses are normalised; status text lists the basics", () => {
    expect(normaliseNode("127.0.0.1:5000")).toBe("http://127.0.0.1:5000");
    expect(normaliseNode("http://h:1/")).toBe("http://h:1");
    expect(() => normaliseNode("http://")).toThrow();
    expect(statusText({ name: "n", ip: "1.2.3.4", port: 5, gossip_port: 5, members: { alive: 2, dead: 1 } })).toContain("members:      2 alive, 1 dead");
    const loaded = statusText({
      name: "n",
      load: { capacity: 1000, backlog: 250, load_ratio: 0.25, accepted: 7, forwarded: 2, rejected: 0, duplicates: 1, bad_requests: 0 },
    });
    expect(loaded).toContain("load:         250 units queued, ratio 0.25 (seconds of work at capacity)");
    expect(loaded).toContain("requests:     7 accepted, 2 forwarded, 0 rejected, 1 duplicates, 0 bad requests");
  });
});
