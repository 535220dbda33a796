/**
 * One simulated device against a stub node: a full buffer drops its oldest packet, the window
 * holds one request in flight, and the device waits as long as the node says (pace_ms after an
 * acknowledgement, retry_after_ms after a 503) before its next request.
 */
import { afterAll, expect, test } from "bun:test";
import { Device } from "../../esp/device.ts";
import { Directory } from "../../esp/directory.ts";
import { newTally } from "../../esp/report.ts";

const servers: ReturnType<typeof Bun.serve>[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

function stubNode(answer: (n: number) => Response) {
  const arrivals: { t: number; id: string }[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      const body = (await req.json()) as { packet_id: string };
      arrivals.push({ t: performance.now(), id: body.packet_id });
      return answer(arrivals.length);
    },
  });
  servers.push(server);
  return { http: `127.0.0.1:${server.port}`, arrivals };
}

function device(http: string, bufferSize: number) {
  const tally = newTally();
  const env = {
    directory: new Directory([http], 1000),
    tally,
    timeoutMs: 1000,
    minLoad: 1,
    maxLoad: 1,
    bufferSize,
    window: 1,
    stop: { stopping: false, giveUpAt: Infinity },
  };
  return { d: new Device("d", "run", env, Math.random), tally };
}

const accepted = (http: string, extra: Record<string, unknown> = {}) => Response.json({ status: "accepted", handled_by: http, ...extra });

test("a full buffer drops the oldest; one request at a time; pace_ms is honoured", async () => {
  let http = "";
  const node = stubNode(() => accepted(http, { pace_ms: 100 }));
  http = node.http;
  const { d, tally } = device(http, 3);
  for (let i = 0; i < 10; i++) d.produce(); // the first goes out at once; 3 of the other 9 fit
  await d.drained();
  expect(tally).toMatchObject({ sent: 10, acknowledged: 4, dropped: 6, requests: 4, paced: 4 });
  expect(node.arrivals.map((a) => a.id.split("-").at(-1))).toEqual(["1", "8", "9", "10"]);
  for (let i = 1; i < node.arrivals.length; i++) expect(node.arrivals[i]!.t - node.arrivals[i - 1]!.t).toBeGreaterThanOrEqual(95);
});

test("after a 503 the same packet waits retry_after_ms, then goes again", async () => {
  let http = "";
  const node = stubNode((n) =>
    n === 1 ? Response.json({ error: "busy", retry_after_ms: 150 }, { status: 503, headers: { "retry-after": "1" } }) : accepted(http),
  );
  http = node.http;
  const { d, tally } = device(http, 10);
  d.produce();
  await d.drained();
  expect(tally).toMatchObject({ acknowledged: 1, rejected_503: 1, requests: 2 });
  expect(node.arrivals[1]!.id).toBe(node.arrivals[0]!.id);
  expect(node.arrivals[1]!.t - node.arrivals[0]!.t).toBeGreaterThanOrEqual(145);
  expect(node.arrivals[1]!.t - node.arrivals[0]!.t).toBeLessThan(600); // the body's 150 ms, not the header's 1 s
});
