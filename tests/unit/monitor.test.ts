/** The monitor's pure parts: the log tap's levels, the line budget, the CLI's parsing and printing. */
import { describe, expect, test } from "bun:test";
import { formatMonitor, takeMessages } from "../../src/cli/monitor-command.ts";
import { LineBudget, monitorLevel } from "../../src/dashboard/monitor.ts";
import { type LogLine, LogTap } from "../../src/log/log-tap.ts";
import { createLogger } from "../../src/log/logger.ts";

describe("the log tap", () => {
  test("watchers get lines at their level whatever the node logs at; the logger goes back when they leave", () => {
    const tap = new LogTap();
    const log = createLogger({ level: "warn", format: "json", tap }).child({ id: "me" });
    const debug: LogLine[] = [];
    const info: LogLine[] = [];
    log.debug("before anyone watches");
    expect(log.level).toBe("warn");
    const stopDebug = tap.watch("debug", (l) => debug.push(l));
    const stopInfo = tap.watch("info", (l) => info.push(l));
    expect(log.level).toBe("debug");
    log.trace("too fine for both");
    log.debug({ packet_id: "p1" }, "packet accepted");
    log.info("an info line");
    expect(debug.map((l) => l.msg)).toEqual(["packet accepted", "an info line"]);
    expect(debug[0]).toMatchObject({ level: 20, packet_id: "p1", id: "me" });
    expect(info.map((l) => l.msg)).toEqual(["an info line"]);
    stopDebug();
    expect(log.level).toBe("info");
    stopInfo();
    expect(log.level).toBe("warn");
    expect(tap.watchers).toBe(0);
  });

  test("a silent node can still be watched; a watcher that throws does not break the logger", () => {
    const tap = new LogTap();
    const log = createLogger({ level: "silent", format: "json", tap });
    const got: string[] = [];
    tap.watch("error", () => {
      throw new Error("gone");
    });
    tap.watch("warn", (l) => got.push(String(l.msg)));
    log.warn("seen");
    expect(got).toEqual(["seen"]);
    tap.write("not json at all\n");
  });
});

describe("the monitor stream", () => {
  test("levels are checked; the default is info", () => {
    expect(monitorLevel(null)).toBe("info");
    expect(monitorLevel("debug")).toBe("debug");
    expect(monitorLevel("loud")).toEqual({ error: expect.stringContaining("trace, debug, info") });
  });

  test("log lines are held to a rate, with bursts of twice that, and the rest counted", () => {
    const b = new LineBudget(10, 0);
    let sent = 0;
    for (let i = 0; i < 50; i++) if (b.take(0)) sent++;
    expect(sent).toBe(20);
    expect(b.dropped).toBe(30);
    expect(b.take(50)).toBe(false); // half a token: not yet
    expect(b.take(200)).toBe(true); // two tokens back after 200 ms
    expect(b.take(200)).toBe(true);
    expect(b.take(200)).toBe(false);
  });
});

describe("dsef monitor", () => {
  test("reads whole SSE messages and keeps the unfinished rest", () => {
    const { messages, rest } = takeMessages('event: hello\ndata: {"a":1}\n\n: keep-alive\n\nevent: log\ndata: {"msg"');
    expect(messages).toEqual([{ event: "hello", data: '{"a":1}' }]);
    expect(rest).toBe('event: log\ndata: {"msg"');
  });

  test("prints membership events and log lines one a line", () => {
    const t = Date.UTC(2030, 0, 2, 3, 4, 5);
    const member = formatMonitor("member", {
      event: "member-failed",
      at: t,
      member: { id: "c0ffee", name: "edge-c", address: "10.0.0.7:5000", state: "dead", incarnation: 4 },
      by: "abc",
      reason: "connection refused",
    });
    expect(member).toBe("2030-01-02T03:04:05.000Z [EVENT] member-failed edge-c 10.0.0.7:5000 dead incarnation 4 c0ffee (by abc; connection refused)");
    const line = formatMonitor("log", { level: 20, time: t, msg: "packet accepted", node: "edge-a", id: "self", packet_id: "p1", units: 3 }, "self");
    expect(line).toBe("2030-01-02T03:04:05.000Z [DEBUG] packet accepted packet_id=p1 units=3");
    expect(formatMonitor("dropped", { lines: 7 })).toContain("7 log line(s) left out");
    expect(formatMonitor("snapshot", {})).toBeUndefined();
  });
});
