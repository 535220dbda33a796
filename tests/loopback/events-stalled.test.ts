/**
 * A dashboard stream whose reader stops reading is closed by the idle timeout, so writes
 * buffered for it cannot grow without end (Bun keeps writing into a stalled socket's buffer).
 */
import { expect, test } from "bun:test";
import type { Send } from "../../src/dashboard/event-hub.ts";
import { EventStreams } from "../../src/dashboard/sse.ts";
import { holdStreams } from "../support/outsider.ts";
import { waitUntil } from "../support/processes.ts";

test("a stalled /events reader is let go within the idle timeout", async () => {
  const big = "x".repeat(64 * 1024);
  let open = 0;
  const hub = {
    subscribe(send: Send) {
      open++;
      send("hello", {});
      const timer = setInterval(() => send("snapshot", big), 5);
      return () => {
        open--;
        clearInterval(timer);
      };
    },
  };
  const streams = new EventStreams(hub, 4, 100, 1);
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", routes: { "/events": (req, srv) => streams.open(req, srv) } });
  try {
    const stalled = await holdStreams({ port: server.port, from: "127.0.0.2", path: "/events", count: 2, stall: true });
    expect(stalled.result.statuses["200:hello"]).toBe(2);
    const ms = await waitUntil(
      () => open === 0,
      15_000,
      () => `${open} streams still open`,
    );
    console.log(`2 stalled streams closed after ${ms.toFixed(0)} ms`);
    expect(streams.clients).toBe(0);
    await stalled.stop();
  } finally {
    server.stop(true);
  }
}, 30_000);
