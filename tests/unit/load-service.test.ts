import { expect, test } from "bun:test";
import { LoadService } from "../../src/load/load-service.ts";
import type { Member } from "../../src/membership/types.ts";
import { FakePeers, member, silentLog } from "../support/fake-peers.ts";

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
    { members: () => [], publish: (b) => void published.push(b), peerClient: new FakePeers(), log: silentLog },
    { now: () => now, ticker: () => () => {} },
  );
  return { svc, published, advance: (ms: number) => void (now += ms) };
}

test("a lone node queues up to --max-backlog, then answers 503 and forgets the packet", async () => {
  const { svc, advance } = lone(100);
  expect((await svc.handle({ processing_load: 150, packet_id: "a" }, 0)).status).toBe(200);
  const full = await svc.handle({ processing_load: 100, packet_id: "b" }, 0);
  expect(full.status).toBe(503);
  // Retry-After in whole seconds, the device's slot in milliseconds (pacer.ts).
  expect(full.headers?.["retry-after"]).toBe(String(Math.ceil((full.body.retry_after_ms as number) / 1000)));
  expect(full.body.retry_after_ms).toBeGreaterThanOrEqual(1000);
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

test("the first figure goes out at once; later ones only when peers' picture is off by more than the threshold", async () => {
  const { svc, published, advance } = lone(100);
  svc.tick();
  expect(published).toEqual([0]); // peers learn that an idle node's load is 0, not unknown
  svc.tick();
  expect(published).toEqual([0]);
  await svc.handle({ processing_load: 50 }, 0);
  svc.tick();
  expect(published).toEqual([0, 50]);
  await svc.handle({ processing_load: 5 }, 0); // moved by less than 0.1 s of work: nothing to say
  svc.tick();
  expect(published).toEqual([0, 50]);
  advance(1000); // drained: peers must learn it
  svc.tick();
  expect(published).toEqual([0, 50, 0]);
  expect(svc.stats().load_published).toBe(3);
});

/** A node at 127.0.0.1:1 (capacity 100, forward above 0.5 s, limit 2 s) among `members`. */
function clustered(members: Member[], client: FakePeers) {
  return new LoadService(
    {
      selfId: "127.0.0.1:1",
      selfHttp: "127.0.0.1:1",
      capacity: 100,
      policy: { forwardAbove: 0.5, margin: 0.25, maxBacklog: 2 },
      forwardTimeoutMs: 100,
      askTimeoutMs: 100,
      windowTtlMs: 60_000,
      windowMaxEntries: 1000,
      publishEveryMs: 1000,
      publishThresholdS: 0.1,
    },
    { members: () => members, publish: () => {}, peerClient: client, log: silentLog },
    { now: () => 0, random: () => 0, ticker: () => () => {} },
  );
}

/** A busy node (1 s of work queued, capacity 100) with two idle peers it may forward to. */
function busy() {
  const client = new FakePeers();
  const [b, c] = [client.add("10.0.0.2:5000"), client.add("10.0.0.3:5000")];
  const svc = clustered([member("127.0.0.1:1", "alive", 100), member(b.http, "alive", 100), member(c.http, "alive", 100)], client);
  svc.queue.add({ id: "queued", units: 100 }, 0);
  return { svc, b, c };
}

test("a busy node forwards once to a clearly lighter peer and reports where the packet went", async () => {
  const { svc, b } = busy();
  const r = await svc.handle({ processing_load: 10, packet_id: "fw" }, 0);
  expect(r.body).toMatchObject({ status: "accepted", handled_by: b.http, redirected: b.http });
  expect(svc.stats()).toMatchObject({ forwarded: 1, accepted: 0 });
  // The peer's estimate now includes what we sent it.
  expect(svc.peers.candidates([member(b.http, "alive", 100)], "x")[0]!.ratio).toBeCloseTo(0.1);
  // A forwarded packet (hop 1) is never forwarded again.
  expect((await svc.handle({ processing_load: 10, packet_id: "hop" }, 1)).body).toMatchObject({ handled_by: "127.0.0.1:1" });
});

test("a forward declined everywhere is kept here while there is room", async () => {
  const { svc, b, c } = busy();
  b.forward = c.forward = { kind: "declined", reason: "HTTP 503" };
  const r = await svc.handle({ processing_load: 10, packet_id: "kept" }, 0);
  expect(r.body).toMatchObject({ status: "accepted", handled_by: "127.0.0.1:1" });
  expect(svc.stats()).toMatchObject({ forward_failures: 2, accepted: 1 });
  expect(b.asked + c.asked).toBe(0); // a declined peer certainly did not take it: nothing to check
});

test("an unclear forward is checked with that peer before the packet is taken here", async () => {
  const { svc, b, c } = busy();
  b.forward = c.forward = { kind: "unclear", reason: "TimeoutError" };
  b.ask = { seen: true, handled_by: b.http }; // the timed-out forward did land there
  const r = await svc.handle({ processing_load: 10, packet_id: "uc" }, 0);
  expect(r.body).toMatchObject({ duplicate: true, handled_by: b.http });
  expect(svc.stats()).toMatchObject({ accepted: 0, duplicates: 1, forward_failures: 2 });
});

test("a burst while the backup has not acknowledged yet never takes more than --max-backlog here", async () => {
  // Its only peer keeps the backups and is saturated.
  const client = new FakePeers();
  const peer = client.add("10.0.0.2:5000");
  peer.forward = { kind: "declined", reason: "HTTP 503" };
  const svc = clustered([member("127.0.0.1:1", "alive", 100), member(peer.http, "alive", 100)], client);
  // Forty packets of 0.5 s each arrive together; their hand-offs are still in flight.
  const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => svc.handle({ processing_load: 50, packet_id: `burst-${i}` }, 0)));
  const taken = replies.filter((r) => r.status === 200).length;
  expect(taken).toBe(4); // 4 × 0.5 s = the 2 s limit
  expect(svc.queue.seconds(0)).toBeLessThanOrEqual(2);
  expect(replies.filter((r) => r.status === 503)).toHaveLength(36);
});
