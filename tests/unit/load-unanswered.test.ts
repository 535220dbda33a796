/**
 * The race behind a packet taken twice around a frozen node: a node that may have the packet
 * does not answer "have you seen it?" in time (SIGSTOPped, or starved of CPU right after
 * resuming). Silence is not "not seen": the asking node must step back (503, the device retries)
 * rather than take the packet. Peers here are real HTTP servers on loopback whose answers the
 * test controls; "silent" ones hold the request past the ask timeout.
 */
import { afterAll, expect, test } from "bun:test";
import pino from "pino";
import { LoadService } from "../../src/load/load-service.ts";
import type { Member, MemberState } from "../../src/membership/types.ts";

type Mode = "silent" | { seen: false } | { seen: true; handled_by: string; pending?: boolean };

interface Peer {
  mode: Mode;
  asked: number;
  server: ReturnType<typeof Bun.serve>;
  http: string;
}

/** A peer answering POST /packets/ask as told; "silent" never answers (a frozen process). */
function peer(): Peer {
  const p = { mode: { seen: false }, asked: 0 } as Peer;
  p.server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (): Promise<Response> => {
      p.asked++;
      if (p.mode === "silent") await new Promise(() => {});
      return Response.json(p.mode);
    },
  });
  p.http = `127.0.0.1:${p.server.port}`;
  return p;
}

/** A port nobody listens on: asks there are refused (the node crashed). */
function closedPort(): string {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port;
  s.stop(true);
  return `127.0.0.1:${port}`;
}

const servers: Peer[] = [];
afterAll(() => {
  for (const p of servers) p.server.stop(true);
});

function member(http: string, state: MemberState = "alive"): Member {
  return { info: { id: http, name: http, gossip: http, http, capacity: 1000 }, state, incarnation: 0, changedAt: 0 };
}

function setup() {
  const [b, c] = [peer(), peer()];
  servers.push(b, c);
  let now = 0;
  const members: Member[] = [member("127.0.0.1:1"), member(b.http), member(c.http)];
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
      publishEveryMs: 60_000,
      publishThresholdS: 0.1,
    },
    { members: () => members, publish: () => {}, log: pino({ level: "silent" }) },
    () => now,
  );
  return { svc, b, c, members, clock: () => now, advance: (ms: number) => void (now += ms) };
}

test("a retry is not taken while a live node it was tried at does not answer; the answer settles it", async () => {
  const { svc, b } = setup();
  b.mode = "silent"; // frozen with the original accepted (or queued) there
  const r = await svc.handle({ processing_load: 10, packet_id: "p", tried: [b.http] }, 0);
  expect(r.status).toBe(503);
  expect(r.headers?.["retry-after"]).toBe("1");
  expect(svc.stats()).toMatchObject({ accepted: 0, unanswered_checks: 1, units_accepted: 0 });

  b.mode = { seen: true, handled_by: b.http }; // resumed: it had taken the packet
  const again = await svc.handle({ processing_load: 10, packet_id: "p", tried: [b.http, "127.0.0.1:1"] }, 0);
  expect(again.body).toMatchObject({ status: "accepted", duplicate: true, handled_by: b.http });
  expect(svc.stats()).toMatchObject({ accepted: 0, duplicates: 1 });
});

test("what a step-back learned is kept: a later copy without `tried` still checks the silent node", async () => {
  const { svc, b } = setup();
  b.mode = "silent";
  expect((await svc.handle({ processing_load: 10, packet_id: "q", tried: [b.http] }, 0)).status).toBe(503);
  b.mode = { seen: true, handled_by: b.http };
  const late = await svc.handle({ processing_load: 10, packet_id: "q" }, 0);
  expect(late.body).toMatchObject({ duplicate: true, handled_by: b.http });
  expect(svc.stats().accepted).toBe(0);
});

test("silence from a node declared dead, or a refused connection, does not block: the packet is taken", async () => {
  const { svc, b, c, members } = setup();
  b.mode = "silent";
  members[1] = member(b.http, "dead"); // frozen past its suspicion timeout: lost = 0 wins
  const r = await svc.handle({ processing_load: 10, packet_id: "d", tried: [b.http] }, 0);
  expect(r.body).toMatchObject({ status: "accepted", handled_by: "127.0.0.1:1" });
  expect(b.asked).toBe(1); // still asked: had it answered, its answer would have counted
  expect(c.asked).toBe(1); // and everyone else, since it may have forwarded the packet

  const crashed = closedPort();
  members.push(member(crashed)); // killed, not yet detected: refused means its queue died with it
  const k = await svc.handle({ processing_load: 10, packet_id: "k", tried: [crashed] }, 0);
  expect(k.body).toMatchObject({ status: "accepted", handled_by: "127.0.0.1:1" });
  expect(svc.stats()).toMatchObject({ accepted: 2, unanswered_checks: 0 });
});

test("after a freeze, a queued first attempt is not taken while a peer that may have it is silent", async () => {
  const { svc, b, c, clock, advance } = setup();
  svc.start();
  try {
    // The device timed out on us while we were frozen and retried at b, which took it; b is
    // now starved of CPU and does not answer in time.
    advance(6000);
    b.mode = "silent";
    const r = await svc.handle({ processing_load: 10, packet_id: "f" }, 0);
    expect(r.status).toBe(503);
    expect(c.asked).toBe(1);
    expect(svc.stats()).toMatchObject({ accepted: 0, unanswered_checks: 1 });
    // The silent node is remembered: any later copy of "f" here is checked with it first.
    expect(svc.window.get(clock(), "f")).toMatchObject({ state: "asked", askers: [b.http] });

    // The check window lasts as long as the freeze did (6 s), not just 2 s: the event loop
    // runs smoothly again (no new stall), and 5 s later packets are still checked.
    b.mode = { seen: false };
    for (let i = 0; i < 25; i++) {
      advance(200);
      expect((await svc.handle({ processing_load: 1, packet_id: `n${i}` }, 0)).status).toBe(200);
    }
    expect(c.asked).toBe(26);
    b.mode = { seen: true, handled_by: b.http };
    const late = await svc.handle({ processing_load: 10, packet_id: "g" }, 0);
    expect(late.body).toMatchObject({ duplicate: true, handled_by: b.http });
  } finally {
    svc.stop();
  }
});

test("a node that stepped back points askers at the node it could not rule out (a forward is invisible to the device)", async () => {
  const { svc, b, c, members } = setup();
  // We forwarded (or were told) and b went silent: we step back and remember b.
  b.mode = "silent";
  expect((await svc.handle({ processing_load: 10, packet_id: "h", tried: [b.http] }, 0)).status).toBe(503);
  // The device retries at c, whose `tried` names only us: our answer sends c on to b.
  expect(svc.answerAsk("h", c.http)).toEqual({ seen: false, maybe_at: [b.http] });

  // The asking side: an answer naming d makes us ask d too, and d had taken it.
  const d = peer();
  servers.push(d);
  members.push(member(d.http));
  c.mode = { seen: false, maybe_at: [d.http, "10.9.9.9:1"] } as Mode; // not a member: never contacted
  d.mode = { seen: true, handled_by: d.http };
  const r = await svc.handle({ processing_load: 10, packet_id: "m", tried: [c.http] }, 0);
  expect(r.body).toMatchObject({ duplicate: true, handled_by: d.http });
  expect(d.asked).toBe(1);
  expect(svc.stats().accepted).toBe(0);
});
