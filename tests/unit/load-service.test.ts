import { expect, test } from "bun:test";
import pino from "pino";
import { LoadService } from "../../src/load/load-service.ts";

function lone(capacity = 100) {
  let now = 0;
  const published: number[] = [];
  const svc = new LoadService(
    {
      selfId: "me",
      selfHttp: "127.0.0.1:1",
      capacity,
      policy: { forwardAbove: 0.5, margin: 0.25, maxBacklog: 2 },
      forwardTimeoutMs: 100,
      askTimeoutMs: 100,
      windowTtlMs: 60_000,
      windowMaxEntries: 1000,
      publishEveryMs: 1000,
      publishThresholdS: 0.1,
    },
    { members: () => [], publish: (b) => void published.push(b), log: pino({ level: "silent" }) },
    () => now,
  );
  return { svc, published, advance: (ms: number) => void (now += ms) };
}

test("a lone node queues up to --max-backlog, then answers 503 and forgets the packet", async () => {
  const { svc, advance } = lone(100);
  expect((await svc.handle({ processing_load: 150, packet_id: "a" }, 0)).status).toBe(200);
  const full = await svc.handle({ processing_load: 100, packet_id: "b" }, 0);
  expect(full.status).toBe(503);
  expect(full.headers?.["retry-after"]).toBe("1");
  advance(1000); // 100 units drained
  const again = await svc.handle({ processing_load: 100, packet_id: "b" }, 0);
  expect(again.body).toMatchObject({ status: "accepted", handled_by: "127.0.0.1:1" });
  expect(again.body.duplicate).toBeUndefined();
  expect(svc.stats()).toMatchObject({ accepted: 2, rejected: 1, duplicates: 0, units_accepted: 250, units_processed: 100 });
});

test("a duplicate is acknowledged and not queued again", async () => {
  const { svc } = lone();
  await svc.handle({ processing_load: 10, packet_id: "x" }, 0);
  const dup = await svc.handle({ processing_load: 10, packet_id: "x" }, 0);
  expect(dup.body).toMatchObject({ duplicate: true, handled_by: "127.0.0.1:1" });
  expect(svc.stats()).toMatchObject({ accepted: 1, duplicates: 1, units_accepted: 10 });
});

test("asked about an unknown id: not seen; once taken here: seen, handled here", async () => {
  const { svc } = lone();
  expect(svc.answerAsk("p", "10.0.0.2:5000")).toEqual({ seen: false });
  // The second asker learns of the first: it had a retry of "p" too and may have taken it.
  expect(svc.answerAsk("p", "10.0.0.3:5000")).toEqual({ seen: false, maybe_at: ["10.0.0.2:5000"] });
  // The original arrives: the askers are not members here, so nothing to check; it is taken.
  const r = await svc.handle({ processing_load: 10, packet_id: "p" }, 0);
  expect(r.body).toMatchObject({ status: "accepted", handled_by: "127.0.0.1:1" });
  expect(svc.answerAsk("p", "10.0.0.2:5000")).toEqual({ seen: true, handled_by: "127.0.0.1:1" });
});

test("load is published only when peers' picture is off by more than the threshold", async () => {
  const { svc, published, advance } = lone(100);
  svc.tick();
  expect(published).toEqual([]);
  await svc.handle({ processing_load: 50 }, 0);
  svc.tick();
  expect(published).toEqual([50]);
  await svc.handle({ processing_load: 5 }, 0); // moved by less than 0.1 s of work: nothing to say
  svc.tick();
  expect(published).toEqual([50]);
  advance(1000); // drained: peers must learn it
  svc.tick();
  expect(published).toEqual([50, 0]);
});
