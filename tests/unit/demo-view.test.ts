/** The demo's screen: one line per membership event however many nodes log it, warnings once, info hidden. */
import { expect, test } from "bun:test";
import { demoLine, newDemoView } from "../../scripts/demo-view.ts";

const line = (o: Record<string, unknown>) => JSON.stringify({ level: 30, time: Date.parse("2026-01-01T12:00:00Z"), ...o });
const dead = (observer: string) =>
  line({ node: observer, event: "dead", member: "c1", name: "edge-c", incarnation: 7, reason: "connection refused", msg: "member dead: edge-c" });

test("a membership event reported by every node is one line, naming who saw it first and why", () => {
  const view = newDemoView();
  const shown = ["edge-a", "edge-b"].map((o) => demoLine(view, dead(o), 0));
  expect(shown[0]).toMatch(/edge-c\s+dead\s+\(seen first by edge-a, connection refused\)$/);
  expect(shown[1]).toBeUndefined();
  // The same member coming back is a new event (a higher incarnation).
  expect(demoLine(view, line({ node: "edge-a", event: "rejoined", member: "c1", name: "edge-c", incarnation: 8 }), 0)).toContain("rejoined");
  expect(demoLine(view, line({ node: "edge-b", event: "left", member: "b1", name: "edge-b", incarnation: 8 }), 0)).toContain("(says so itself)");
});

test("info lines are hidden; a warning is shown once while several nodes repeat it, and again later", () => {
  const view = newDemoView();
  expect(demoLine(view, line({ node: "edge-a", msg: "edge node started" }), 0)).toBeUndefined();
  const warn = (o: string) => line({ level: 40, node: o, msg: "no bootstrap node answered; retrying" });
  expect(demoLine(view, warn("edge-b"), 0)).toMatch(/WARN edge-b: no bootstrap node answered; retrying$/);
  expect(demoLine(view, warn("edge-c"), 1000)).toBeUndefined();
  expect(demoLine(view, warn("edge-c"), 60_000)).toContain("WARN edge-c");
  expect(demoLine(view, line({ level: 60, node: "edge-a", msg: "cannot listen", err: "EADDRINUSE" }), 0)).toContain("FATAL edge-a: cannot listen (EADDRINUSE)");
});

test("output that is not a log line (a crash trace) is shown as it is; blank lines are not", () => {
  const view = newDemoView();
  expect(demoLine(view, "TypeError: boom", 0)).toBe("TypeError: boom");
  expect(demoLine(view, "  ", 0)).toBeUndefined();
});
