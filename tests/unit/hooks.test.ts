/** The pure parts of the event hooks: the flag syntax, the event vocabulary, batching, retry timing, the signature. */
import { describe, expect, test } from "bun:test";
import { createHash, createHmac, hkdfSync } from "node:crypto";
import { HOOK_EVENTS, parseHookSpec, parseWebhookSpec } from "../../src/config/hook-flags.ts";
import { type NodeConfig, parseNodeConfig } from "../../src/config/node-config.ts";
import { attemptOf, nextDelay, RETRY, retryAfterMs } from "../../src/hooks/backoff.ts";
import { Coalescer } from "../../src/hooks/coalescer.ts";
import { handlerEnv, redact } from "../../src/hooks/event-hooks.ts";
import { type HookEvent, hookEvent, memberLine, runsOf } from "../../src/hooks/hook-event.ts";
import { HookSink } from "../../src/hooks/hook-sink.ts";
import { currentWebhookKey, signWebhook, webhookKey } from "../../src/hooks/signature.ts";
import { keyFromSecret } from "../../src/identity/keyring.ts";
import type { MemberEvent } from "../../src/membership/types.ts";
import { UsageError } from "../../src/util/usage-error.ts";

const config = (argv: string[], env: Record<string, string> = {}) => parseNodeConfig(argv, env) as NodeConfig;

describe("hook flags", () => {
  test("a command alone gets every event; a filter of event names picks some", () => {
    expect(parseHookSpec("./on-change.sh")).toEqual({ events: HOOK_EVENTS, target: "./on-change.sh" });
    expect(parseHookSpec("member-failed,member-join=./page.sh --loud")).toEqual({ events: ["member-join", "member-failed"], target: "./page.sh --loud" });
    expect(parseHookSpec("*=logger -t dsef").events).toEqual(HOOK_EVENTS);
  });

  test("a command with = in it is left whole; a misspelt event is refused, not run", () => {
    expect(parseHookSpec("FOO=1 ./x.sh").target).toBe("FOO=1 ./x.sh");
    expect(parseHookSpec("env a=b sh -c 'echo $DSEF_EVENT'").target).toBe("env a=b sh -c 'echo $DSEF_EVENT'");
    expect(() => parseHookSpec("member-jion=./x.sh")).toThrow(/unknown event "member-jion"/);
    expect(() => parseHookSpec("member-join=")).toThrow(/nothing to run/);
    expect(() => parseHookSpec("  ")).toThrow(/empty/);
  });

  test("webhooks take the same filter and must be http(s) URLs", () => {
    expect(parseWebhookSpec("member-failed=https://ops.example/hook?t=1")).toEqual({ events: ["member-failed"], target: "https://ops.example/hook?t=1" });
    expect(() => parseWebhookSpec("ftp://x/y")).toThrow(/http/);
    expect(() => parseWebhookSpec("member-join=not a url")).toThrow(/not a URL/);
  });

  test("repeatable on the command line, one a line in the variable, bounded", () => {
    const c = config(["--event-handler", "./a.sh", "--event-handler", "member-leave=./b.sh", "--webhook", "http://127.0.0.1:9/x", "--hook-timeout", "2s"]);
    expect(c.eventHandlers.map((h) => h.target)).toEqual(["./a.sh", "./b.sh"]);
    expect(c.webhooks).toHaveLength(1);
    expect(c.hookTimeoutMs).toBe(2000);
    const e = config([], { DSEF_EVENT_HANDLER: "./a.sh\nmember-join=./b.sh\n", DSEF_WEBHOOK: "http://h/1" });
    expect(e.eventHandlers.map((h) => h.events.length)).toEqual([HOOK_EVENTS.length, 1]);
    expect(e.webhooks[0]!.target).toBe("http://h/1");
    expect(config([]).hookTimeoutMs).toBe(30_000);
    const nine = Array.from({ length: 9 }, () => ["--event-handler", "true"]).flat();
    expect(() => config(nine)).toThrow(UsageError);
    expect(() => config(["--event-handler", "member-nope=x"])).toThrow(/--event-handler: unknown event/);
    expect(() => config([], { DSEF_WEBHOOK: "gopher://x" })).toThrow(/DSEF_WEBHOOK/);
    expect(() => config(["--hook-timeout", "0"])).toThrow(/--hook-timeout/);
  });
});

const snapshot = (name: string, state: "alive" | "dead" = "alive") => ({
  info: { id: `id-${name}`, name, gossip: "127.0.0.1:1", http: `127.0.0.1:${name.length}000`, capacity: 1 },
  state,
  incarnation: 3,
});

describe("hook events", () => {
  test("SWIM's events in Serf's words", () => {
    const of = (type: MemberEvent["type"]) => hookEvent({ type, at: 0, member: snapshot("a") }, 5).event;
    expect([of("joined"), of("rejoined"), of("left"), of("dead"), of("updated"), of("suspect"), of("alive"), of("refuted")]).toEqual([
      "member-join",
      "member-join",
      "member-leave",
      "member-failed",
      "member-update",
      "member-suspect",
      "member-alive",
      "member-alive",
    ]);
    const e = hookEvent({ type: "dead", at: 0, member: snapshot("b", "dead"), by: "id-a", reason: "refused" }, 42);
    expect(e).toEqual({
      event: "member-failed",
      at: 42,
      member: { id: "id-b", name: "b", address: "127.0.0.1:1000", state: "dead", incarnation: 3, tags: {} },
      by: "id-a",
      reason: "refused",
    });
  });

  test("one member a line: name, address, state, tags, id, tab-separated", () => {
    const m = { id: "ab12", name: "edge a", address: "10.0.0.5:5000", state: "alive" as const, incarnation: 1, tags: {} };
    expect(memberLine(m)).toBe("edge a\t10.0.0.5:5000\talive\t\tab12");
    expect(memberLine({ ...m, tags: { zone: "a", role: "gw" } })).toBe("edge a\t10.0.0.5:5000\talive\tzone=a,role=gw\tab12");
    expect(memberLine({ ...m, name: "x\ty\nz" }).split("\t")).toHaveLength(5);
  });

  test("consecutive events of one name make one run, in order", () => {
    const ev = (event: HookEvent["event"], name: string): HookEvent => ({
      event,
      at: 0,
      member: hookEvent({ type: "joined", at: 0, member: snapshot(name) }, 0).member,
    });
    const runs = runsOf([ev("member-join", "a"), ev("member-join", "b"), ev("member-failed", "c"), ev("member-join", "d")]);
    expect(runs.map((r) => [r.event, r.members.map((m) => m.name)])).toEqual([
      ["member-join", ["a", "b"]],
      ["member-failed", ["c"]],
      ["member-join", ["d"]],
    ]);
  });

  test("handlers do not inherit the node's own settings (its secrets)", () => {
    expect(handlerEnv({ PATH: "/bin", DSEF_CLUSTER_KEY: "s3cret", DSEF_API_TOKEN: "t", HOME: "/h", X: undefined })).toEqual({ PATH: "/bin", HOME: "/h" });
    expect(redact("https://user:pw@ops.example:8443/hook?token=abc")).toBe("https://ops.example:8443/hook");
  });
});

describe("coalescing", () => {
  test("a batch is due when quiet, or at the latest maxWait after its first event", () => {
    const c = new Coalescer<number>({ quietMs: 100, maxWaitMs: 400, maxEvents: 10 });
    expect(c.dueAt()).toBeUndefined();
    c.add(1, 1000);
    expect(c.dueAt()).toBe(1100);
    c.add(2, 1050);
    expect(c.dueAt()).toBe(1150);
    for (let t = 1100; t <= 1390; t += 50) c.add(t, t);
    expect(c.dueAt()).toBe(1400); // a steady trickle still flushes at maxWait
    expect(c.take()).toHaveLength(8);
    expect(c.size).toBe(0);
  });

  test("a full batch drops its oldest and counts it", () => {
    const c = new Coalescer<number>({ quietMs: 1, maxWaitMs: 1, maxEvents: 3 });
    const dropped = [1, 2, 3, 4, 5].map((n) => c.add(n, 0));
    expect(dropped).toEqual([0, 0, 0, 1, 1]);
    expect(c.take()).toEqual([3, 4, 5]);
    expect(c.dropped).toBe(2);
  });

  test("a sink delivers one batch at a time; what overflows meanwhile is counted and reported", async () => {
    const batches: { names: string[]; dropped: number }[] = [];
    let release = () => {};
    const sink = new HookSink(
      { events: ["member-join"], target: "x" },
      async (events, dropped) => {
        batches.push({ names: events.map((e) => e.member.name), dropped });
        if (batches.length === 1) await new Promise<void>((r) => (release = r));
        return true;
      },
      { quietMs: 10, maxWaitMs: 30, maxEvents: 3 },
    );
    const join = (name: string) => hookEvent({ type: "joined", at: 0, member: snapshot(name) }, 0);
    sink.offer(join("a"));
    sink.offer(join("b"));
    sink.offer(hookEvent({ type: "dead", at: 0, member: snapshot("z") }, 0)); // not wanted
    await Bun.sleep(40);
    expect(batches).toEqual([{ names: ["a", "b"], dropped: 0 }]);
    for (const n of ["c", "d", "e", "f", "g"]) sink.offer(join(n)); // the first delivery is still running
    await Bun.sleep(60);
    expect(batches).toHaveLength(1);
    release();
    await Bun.sleep(60);
    expect(batches[1]).toEqual({ names: ["e", "f", "g"], dropped: 2 });
    expect(sink.dropped).toBe(2);
    sink.offer(join("h"));
    sink.close();
    expect(sink.dropped).toBe(3);
  });
});

describe("retries", () => {
  test("what is retried: no answer, 408, 425, 429, 5xx; other answers end the delivery", () => {
    expect(attemptOf(204)).toEqual({ ok: true });
    for (const s of [408, 425, 429, 500, 502, 503]) expect(attemptOf(s)).toMatchObject({ ok: false, retry: true });
    for (const s of [301, 400, 401, 404, 410]) expect(attemptOf(s)).toMatchObject({ ok: false, retry: false });
    expect(attemptOf(503, "7").ok === false && attemptOf(503, "7")).toMatchObject({ retryAfterMs: 7000 });
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
  });

  test("exponential steps with equal jitter, capped, a bounded number of attempts", () => {
    const fail = { ok: false as const, retry: true, reason: "network" };
    const p = { baseMs: 100, capMs: 1000, maxAttempts: 6 };
    expect([1, 2, 3, 4, 5].map((n) => nextDelay(n, fail, () => 0, p))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((n) => nextDelay(n, fail, () => 0.999999, p))).toEqual([100, 200, 400, 800, 1000]);
    expect(nextDelay(6, fail, Math.random, p)).toBeUndefined();
    expect(nextDelay(1, { ...fail, retry: false }, Math.random, p)).toBeUndefined();
    expect(nextDelay(1, { ...fail, retryAfterMs: 700 }, () => 0, p)).toBe(700);
    expect(nextDelay(1, { ...fail, retryAfterMs: 60_000 }, () => 0, p)).toBe(1000);
    // The default policy gives up within a minute.
    const worst = [1, 2, 3, 4, 5].reduce((t, n) => t + nextDelay(n, fail, () => 0.999999)!, 0);
    expect(worst).toBeLessThan(60_000);
    expect(RETRY.maxAttempts).toBe(6);
  });
});

describe("webhook signature", () => {
  test("a receiver holding the webhook key checks it with plain HMAC-SHA256; the key follows rotation", () => {
    const secret = "an operator's cluster secret";
    const k = webhookKey(keyFromSecret(secret));
    // The documented recipe, written out: material = sha256("dsef/v1 secret" + secret), HKDF info "webhook".
    const material = createHash("sha256").update("dsef/v1 secret").update(secret).digest();
    const expectKey = Buffer.from(hkdfSync("sha256", material, "dsef/v1 cluster key", "webhook", 32));
    expect(k.key.equals(expectKey)).toBe(true);
    const body = '{"id":"x","events":[]}';
    const header = signWebhook(k, 1_700_000_000_000, body);
    const [kid, ts, mac] = header.split(".");
    expect(kid).toBe(keyFromSecret(secret).kid);
    expect(ts).toBe("1700000000000");
    expect(mac).toBe(createHmac("sha256", expectKey).update(`dsef/v1 webhook\n${ts}\n${body}`).digest("base64url"));
    // Another body, another MAC.
    expect(signWebhook(k, 1_700_000_000_000, `${body} `)).not.toBe(header);

    let send = keyFromSecret(secret);
    const current = currentWebhookKey(() => send);
    expect(current()).toBe(current()!); // derived once per key
    send = keyFromSecret("the next cluster secret!");
    expect(current()!.kid).toBe(send.kid);
    expect(currentWebhookKey(() => undefined)()).toBeUndefined();
  });
});
