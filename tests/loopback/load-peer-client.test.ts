/**
 * The request path's HTTP client against real servers on loopback: how each answer, silence and
 * refusal is classified. The retry logic rests on this: only an "unclear" forward may have been
 * taken, and only silence from a live node blocks a retry (load-unanswered.test.ts).
 */
import { afterAll, expect, test } from "bun:test";
import { HOP_HEADER, httpPeerClient } from "../../src/load/peer-client.ts";
import { configurePeerHttp } from "../../src/ports/peer-http.ts";

const servers: ReturnType<typeof Bun.serve>[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

/** A server answering every request with `answer`; "hang" never answers (a frozen process). */
function serve(answer: (req: Request) => Response | "hang" | Promise<Response>): string {
  const s = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (req) => {
      const a = await answer(req);
      if (a === "hang") return new Promise<Response>(() => {});
      return a;
    },
  });
  servers.push(s);
  return `127.0.0.1:${s.port}`;
}

/** A port nobody listens on: connections are refused (the node crashed). */
function closedPort(): string {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port;
  s.stop(true);
  return `127.0.0.1:${port}`;
}

test("ask: seen, pending, new with hints (bounded, strings only)", async () => {
  let body: unknown;
  const seen = serve(async (req) => ((body = await req.json()), Response.json({ seen: true, handled_by: "x:1" })));
  expect(await httpPeerClient.ask(seen, "p", "me:1", 500)).toEqual({ kind: "seen", handledBy: "x:1", pending: false });
  expect(body).toEqual({ packet_id: "p", asker: "me:1" });
  const pending = serve(() => Response.json({ seen: true, handled_by: "x:1", pending: true }));
  expect(await httpPeerClient.ask(pending, "p", "me:1", 500)).toEqual({ kind: "seen", handledBy: "x:1", pending: true });
  const hints = serve(() => Response.json({ seen: false, maybe_at: [1, ...Array.from({ length: 20 }, (_, i) => `h:${i}`)] }));
  const r = await httpPeerClient.ask(hints, "p", "me:1", 500);
  expect(r).toMatchObject({ kind: "new" });
  expect(r.kind === "new" && r.maybeAt).toHaveLength(8);
  const plain = serve(() => Response.json({ seen: false }));
  expect(await httpPeerClient.ask(plain, "p", "me:1", 500)).toEqual({ kind: "new" });
});

test("ask: refused or 4xx is gone; silence, 5xx or a bad reply is silent", async () => {
  expect(await httpPeerClient.ask(closedPort(), "p", "me:1", 500)).toEqual({ kind: "gone" });
  expect(
    await httpPeerClient.ask(
      serve(() => new Response("no", { status: 404 })),
      "p",
      "me:1",
      500,
    ),
  ).toEqual({ kind: "gone" });
  expect(
    await httpPeerClient.ask(
      serve(() => "hang"),
      "p",
      "me:1",
      100,
    ),
  ).toEqual({ kind: "silent" });
  expect(
    await httpPeerClient.ask(
      serve(() => new Response("x", { status: 500 })),
      "p",
      "me:1",
      500,
    ),
  ).toEqual({ kind: "silent" });
  expect(
    await httpPeerClient.ask(
      serve(() => new Response("not json")),
      "p",
      "me:1",
      500,
    ),
  ).toEqual({ kind: "silent" });
  expect(
    await httpPeerClient.ask(
      serve(() => Response.json({ seen: true })),
      "p",
      "me:1",
      500,
    ),
  ).toEqual({ kind: "silent" });
});

test("forward: accepted carries the reply and the hop; refused, 503 and 4xx are declined", async () => {
  let hop: string | null = null;
  const ok = serve((req) => ((hop = req.headers.get(HOP_HEADER)), Response.json({ status: "accepted", handled_by: "x:1" })));
  expect(await httpPeerClient.forward(ok, { processing_load: 1 }, 1, 500)).toEqual({ kind: "accepted", reply: { status: "accepted", handled_by: "x:1" } });
  expect(hop as string | null).toBe("1");
  expect(await httpPeerClient.forward(closedPort(), { processing_load: 1 }, 1, 500)).toEqual({ kind: "declined", reason: "refused" });
  expect(
    await httpPeerClient.forward(
      serve(() => new Response("", { status: 503 })),
      { processing_load: 1 },
      1,
      500,
    ),
  ).toEqual({ kind: "declined", reason: "HTTP 503" });
  expect(
    await httpPeerClient.forward(
      serve(() => new Response("", { status: 400 })),
      { processing_load: 1 },
      1,
      500,
    ),
  ).toEqual({ kind: "declined", reason: "HTTP 400" });
});

test("forward: a timeout, a 5xx or an unreadable 200 is unclear (the peer may have taken it)", async () => {
  expect(
    await httpPeerClient.forward(
      serve(() => "hang"),
      { processing_load: 1 },
      1,
      100,
    ),
  ).toMatchObject({ kind: "unclear" });
  expect(
    await httpPeerClient.forward(
      serve(() => new Response("", { status: 502 })),
      { processing_load: 1 },
      1,
      500,
    ),
  ).toEqual({ kind: "unclear", reason: "HTTP 502" });
  expect(
    await httpPeerClient.forward(
      serve(() => new Response("garbage")),
      { processing_load: 1 },
      1,
      500,
    ),
  ).toEqual({ kind: "unclear", reason: "unreadable reply" });
});

test("replicate: 200 is kept; refused, 503 and 4xx keep nothing; a timeout or 5xx may have; signed when secured", async () => {
  const batch = { owner: "a", owner_http: "a:1", boot: "b1", keep: [{ id: "p", units: 1 }], done: [] };
  let signed: string | null = null;
  const ok = serve((req) => ((signed = req.headers.get("x-test-sig")), Response.json({ kept: 1 })));
  // Signed like every node-only call: peerFetch with the node's signer (main.ts configures it).
  configurePeerHttp({ sign: (method, target, path, body) => ({ "x-test-sig": `${method} ${target}${path}:${body.length}` }) });
  try {
    expect(await httpPeerClient.replicate(ok, batch, 500)).toEqual({ kind: "kept" });
  } finally {
    configurePeerHttp({});
  }
  expect(signed as string | null).toBe(`POST ${ok}/packets/replica:${JSON.stringify(batch).length}`);
  expect(await httpPeerClient.replicate(closedPort(), batch, 500)).toEqual({ kind: "refused", reason: "refused" });
  const cases: [Parameters<typeof serve>[0], number, "refused" | "failed"][] = [
    [() => new Response("full", { status: 503 }), 500, "refused"],
    [() => new Response("no", { status: 401 }), 500, "refused"],
    [() => "hang", 100, "failed"],
    [() => new Response("boom", { status: 500 }), 500, "failed"],
  ];
  for (const [answer, timeoutMs, kind] of cases) expect((await httpPeerClient.replicate(serve(answer), batch, timeoutMs)).kind).toBe(kind);
});

test("status: a well-formed answer is found, 404 unknown, anything else unreachable; asked with the hop and the wait", async () => {
  let prefer: string | null = null;
  const found = serve((req) => ((prefer = req.headers.get("prefer")), Response.json({ packet_id: "p/1", state: "done", handled_by: "x:1", result: 7 })));
  expect(await httpPeerClient.status(found, "p/1", 2, 500)).toEqual({
    kind: "found",
    status: { packet_id: "p/1", state: "done", handled_by: "x:1", result: 7 },
  });
  expect(prefer as string | null).toBe("wait=2");
  expect(
    await httpPeerClient.status(
      serve(() => Response.json({ error: "no" }, { status: 404 })),
      "p",
      0,
      500,
    ),
  ).toEqual({ kind: "unknown" });
  expect(
    await httpPeerClient.status(
      serve(() => Response.json({ packet_id: "other", state: "done", handled_by: "x:1" })),
      "p",
      0,
      500,
    ),
  ).toEqual({ kind: "unreachable" });
  expect(await httpPeerClient.status(closedPort(), "p", 0, 500)).toEqual({ kind: "unreachable" });
});
