/**
 * The race behind a packet taken twice around a frozen node: a node that may have the packet
 * does not answer "have you seen it?" in time (SIGSTOPped, or starved of CPU right after
 * resuming). Silence is not "not seen": the asking node must step back (503, the device retries)
 * rather than take the packet. Peers are fakes whose answers the test controls; the HTTP client
 * that classifies real answers is tested in tests/loopback/load-peer-client.test.ts.
 */
import { expect, test } from "bun:test";
import { LoadService } from "../../src/load/load-service.ts";
import type { Ticker } from "../../src/load/ticker.ts";
import type { Member } from "../../src/membership/types.ts";
import { FakePeers, member, silentLog } from "../support/fake-peers.ts";

const B = "10.0.0.2:5000";
const C = "10.0.0.3:5000";

function setup() {
  const client = new FakePeers();
  const [b, c] = [client.add(B), client.add(C)];
  let now = 0;
  const members: Member[] = [member("127.0.0.1:1"), member(B), member(C)];
  // Timers the test fires by hand: no real interval runs.
  const ticks: (() => void)[] = [];
  const ticker: Ticker = (_ms, fn) => (ticks.push(fn), () => {});
  const svc = new LoadService(
    {
      selfId: "127.0.0.1:1",
      selfHttp: "127.0.0.1:1",
      capacity: 1000,
      policy: { forwardAbove: 0.5, margin: 0.25, maxBacklog: 5 },
      forwardTimeoutMs: 100,
      askTimeoutMs: 100,
      windowTtlMs: 60_000,
      windowMaxEntries: 1000,
      publishEveryMs: 1000,
      publishThresholdS: 0.1,
    },
    { members: () => members, publish: () => {}, peerClient: client, log: silentLog },
    { now: () => now, ticker },
  );
  return {
    svc,
    client,
    b,
    c,
    members,
    clock: () => now,
    advance: (ms: number) => void (now += ms),
    tick: () => {
      for (const f of ticks) f();
    },
  };
}

test("a retry is not taken while a live node it was tried at does not answer; the answer settles it", async () => {
  const { svc, b } = setup();
  b.ask = "silent"; // frozen with the original accepted (or queued) there
  const r = await svc.handle({ processing_load: 10, packet_id: "p", tried: [B] }, 0);
  expect(r.status).toBe(503);
  expect(r.headers?.["retry-after"]).toBe("1");
  expect(svc.stats()).toMatchObject({ accepted: 0, unanswered_checks: 1, units_accepted: 0 });

  b.ask = { seen: true, handled_by: B }; // resumed: it had taken the packet
  const again = await svc.handle({ processing_load: 10, packet_id: "p", tried: [B, "127.0.0.1:1"] }, 0);
  expect(again.body).toMatchObject({ status: "accepted", duplicate: true, handled_by: B });
  expect(svc.stats()).toMatchObject({ accepted: 0, duplicates: 1 });
});

test("a copy being handled elsewhere (pending) is a 503, not counted as unanswered", async () => {
  const { svc, b } = setup();
  b.ask = { seen: true, handled_by: B, pending: true };
  const r = await svc.handle({ processing_load: 10, packet_id: "pp", tried: [B] }, 0);
  expect(r.status).toBe(503);
  expect(svc.stats()).toMatchObject({ accepted: 0, in_progress: 1, unanswered_checks: 0 });
  expect(svc.window.get(0, "pp")).toMatchObject({ state: "asked", askers: [B] });
});

test("what a step-back learned is kept: a later copy without `tried` still checks the silent node", async () => {
  const { svc, b } = setup();
  b.ask = "silent";
  expect((await svc.handle({ processing_load: 10, packet_id: "q", tried: [B] }, 0)).status).toBe(503);
  b.ask = { seen: true, handled_by: B };
  const late = await svc.handle({ processing_load: 10, packet_id: "q" }, 0);
  expect(late.body).toMatchObject({ duplicate: true, handled_by: B });
  expect(svc.stats().accepted).toBe(0);
});

test("silence from a node declared dead, or a refused connection, does not block: the packet is taken", async () => {
  const { svc, client, b, c, members } = setup();
  b.ask = "silent";
  members[1] = member(B, "dead"); // frozen past its suspicion timeout: lost = 0 wins
  const r = await svc.handle({ processing_load: 10, packet_id: "d", tried: [B] }, 0);
  expect(r.body).toMatchObject({ status: "accepted", handled_by: "127.0.0.1:1" });
  expect(b.asked).toBe(1); // still asked: had it answered, its answer would have counted
  expect(c.asked).toBe(1); // and everyone else, since it may have forwarded the packet

  const crashed = client.add("10.0.0.9:5000", "gone");
  members.push(member(crashed.http)); // killed, not yet detected: refused means its queue died with it
  const k = await svc.handle({ processing_load: 10, packet_id: "k", tried: [crashed.http] }, 0);
  expect(k.body).toMatchObject({ status: "accepted", handled_by: "127.0.0.1:1" });
  expect(svc.stats()).toMatchObject({ accepted: 2, unanswered_checks: 0 });
});

test("addresses a device names that are not members are never contacted", async () => {
  const { svc, client } = setup();
  const stranger = client.add("10.9.9.9:1", { seen: true, handled_by: "10.9.9.9:1" });
  const r = await svc.handle({ processing_load: 10, packet_id: "s", tried: [stranger.http] }, 0);
  expect(r.body).toMatchObject({ status: "accepted", handled_by: "127.0.0.1:1" });
  expect(stranger.asked).toBe(0);
});

test("after a freeze, a queued first attempt is not taken while a peer that may have it is silent", async () => {
  const { svc, b, c, clock, advance, tick } = setup();
  svc.start();
  // The device timed out on us while we were frozen (6 s without the once-a-second tick) and
  // retried at b, which took it; b is now starved of CPU and does not answer in time.
  advance(6000);
  b.ask = "silent";
  const r = await svc.handle({ processing_load: 10, packet_id: "f" }, 0);
  expect(r.status).toBe(503);
  expect(c.asked).toBe(1);
  expect(svc.stats()).toMatchObject({ accepted: 0, unanswered_checks: 1 });
  // The silent node is remembered: any later copy of "f" here is checked with it first.
  expect(svc.window.get(clock(), "f")).toMatchObject({ state: "asked", askers: [B] });

  // The check window lasts as long as the freeze did (6 s), not just 2 s: the event loop
  // runs smoothly again (no new stall), and 5 s later packets are still checked.
  b.ask = { seen: false };
  for (let i = 0; i < 25; i++) {
    advance(200);
    if (i % 5 === 4) tick();
    expect((await svc.handle({ processing_load: 1, packet_id: `n${i}` }, 0)).status).toBe(200);
  }
  expect(c.asked).toBe(26);
  b.ask = { seen: true, handled_by: B };
  const late = await svc.handle({ processing_load: 10, packet_id: "g" }, 0);
  expect(late.body).toMatchObject({ duplicate: true, handled_by: B });
  svc.stop();
});

test("a node that stepped back points askers at the node it could not rule out (a forward is invisible to the device)", async () => {
  const { svc, client, b, c, members } = setup();
  // We forwarded (or were told) and b went silent: we step back and remember b.
  b.ask = "silent";
  expect((await svc.handle({ processing_load: 10, packet_id: "h", tried: [B] }, 0)).status).toBe(503);
  // The device retries at c, whose `tried` names only us: our answer sends c on to b.
  expect(svc.answerAsk("h", C)).toEqual({ seen: false, maybe_at: [B] });

  // The asking side: an answer naming d makes us ask d too, and d had taken it.
  const d = client.add("10.0.0.4:5000", { seen: true, handled_by: "10.0.0.4:5000" });
  members.push(member(d.http));
  c.ask = { seen: false, maybe_at: [d.http, "10.9.9.9:1"] }; // not a member: never contacted
  const r = await svc.handle({ processing_load: 10, packet_id: "m", tried: [C] }, 0);
  expect(r.body).toMatchObject({ duplicate: true, handled_by: d.http });
  expect(d.asked).toBe(1);
  expect(svc.stats().accepted).toBe(0);
});
