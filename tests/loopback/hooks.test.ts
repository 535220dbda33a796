/**
 * Event hooks on real nodes: a handler script that records its environment and stdin, a hanging
 * handler killed by --hook-timeout, and a webhook receiver (Bun.serve here) that refuses the
 * first delivery with a 500 and checks the retry's JSON and signature; then a node is killed
 * and both hear member-failed. Also the handler runner alone (timeouts kill the whole group).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHmac, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runScript } from "../../src/hooks/script-runner.ts";
import { allocPorts, BUN, type NodeProcess, ROOT, spawnNode, stopAll, waitUntil } from "../support/processes.ts";
import { scrape, value } from "../support/prometheus.ts";

const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the handler runner", () => {
  test("env and stdin reach the script; a non-zero exit is a failure with its output", async () => {
    const ok = await runScript({
      command: 'echo "$DSEF_EVENT:$(cat)"',
      env: { PATH: process.env.PATH!, DSEF_EVENT: "member-join" },
      stdin: "a\tb\n",
      timeoutMs: 5000,
    });
    expect(ok).toMatchObject({ ok: true, output: "member-join:a\tb" });
    const bad = await runScript({ command: "echo nope >&2; exit 3", env: { PATH: process.env.PATH! }, stdin: "", timeoutMs: 5000 });
    expect(bad).toMatchObject({ ok: false, reason: "exit", code: 3, output: "nope" });
  });

  test("a handler past its timeout is killed with the children it started; its output is bounded", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dsef-hook-"));
    const pidFile = join(dir, "child.pid");
    const started = performance.now();
    const r = await runScript({
      command: `sleep 300 & echo $! > ${pidFile}; head -c 100000 /dev/zero | tr '\\0' x; wait`,
      env: { PATH: process.env.PATH! },
      stdin: "",
      timeoutMs: 700,
    });
    expect(r).toMatchObject({ ok: false, reason: "timeout" });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(r.output.length).toBeLessThan(2200);
    expect(r.output).toContain("more bytes");
    const child = Number(readFileSync(pidFile, "utf8"));
    await waitUntil(() => !pidAlive(child), 2000);
  });

  test("a handler that ignores stdin, or cannot be found, does not hang the runner", async () => {
    const big = "x".repeat(1 << 20);
    expect(await runScript({ command: "exit 0", env: {}, stdin: big, timeoutMs: 5000 })).toMatchObject({ ok: true });
    const missing = await runScript({ command: "/nonexistent/handler.sh", env: {}, stdin: "", timeoutMs: 5000 });
    expect(missing).toMatchObject({ ok: false, reason: "exit", code: 127 });
  });
});

interface Delivery {
  headers: Record<string, string>;
  body: string;
  status: number;
}

test("a handler and a webhook hear joins and a killed member's failure; the webhook retries after a 500 and is signed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dsef-hooks-"));
  const record = join(dir, "record.sh");
  const out = join(dir, "events.txt");
  writeFileSync(
    record,
    `#!/bin/sh\n{ echo "event=$DSEF_EVENT self=$DSEF_SELF_NAME id=$DSEF_SELF_ID addr=$DSEF_SELF_ADDRESS key=\${DSEF_CLUSTER_KEY:-none}"; cat; echo "--"; } >> "$1"\n`,
  );
  chmodSync(record, 0o755);
  const hang = join(dir, "hang.sh");
  const nap = `sleep 31.${Math.floor(Math.random() * 1e6)}`; // this run's own, to find its processes by
  writeFileSync(hang, `#!/bin/sh\n${nap}\n`);
  chmodSync(hang, 0o755);

  const deliveries: Delivery[] = [];
  const receiver = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = await req.text();
      const status = deliveries.length === 0 ? 500 : 204; // the first delivery fails once
      deliveries.push({ headers: Object.fromEntries(req.headers), body, status });
      return new Response(null, { status });
    },
  });

  const secret = "hooks-test-cluster-secret-0123456789";
  const env = { DSEF_CLUSTER_KEY: secret };
  const [pa, pb, pc] = allocPorts(3) as [number, number, number];
  const a = await spawnNode({
    port: pa,
    env,
    args: [
      "--name",
      "edge-a",
      "--event-handler",
      `${record} ${out}`,
      "--event-handler",
      `member-join=${hang}`,
      "--hook-timeout",
      "1500ms",
      "--webhook",
      `member-join,member-failed=http://127.0.0.1:${receiver.port}/dsef?token=t0ken`,
    ],
  });
  nodes.push(a);
  const b = await spawnNode({ port: pb, env, bootstrap: a.url, args: ["--name", "edge-b", "--tag", "zone=a", "--tag", "role=gateway"] });
  const c = await spawnNode({ port: pc, env, bootstrap: a.url, args: ["--name", "edge-c"] });
  nodes.push(b, c);
  const ids = Object.fromEntries(await Promise.all([a, b, c].map(async (n) => [n.port, (await n.status()).id as string])));

  // The script heard both joins, with the node's identity and without its secrets.
  const blocks = () =>
    (existsSync(out) ? readFileSync(out, "utf8") : "")
      .split("--\n")
      .filter(Boolean)
      .map((b) => {
        const [head, ...lines] = b.trim().split("\n");
        return { head: head!, lines: lines.map((l) => l.split("\t")) };
      });
  const joinedNames = () =>
    blocks()
      .filter((b) => b.head.startsWith("event=member-join "))
      .flatMap((b) => b.lines.map((l) => l[0]));
  await waitUntil(
    () => ["edge-b", "edge-c"].every((n) => joinedNames().includes(n)),
    20_000,
    () => readFileSync(out, "utf8"),
  );
  const first = blocks().find((b) => b.head.startsWith("event=member-join "))!;
  expect(first.head).toBe(`event=member-join self=edge-a id=${ids[pa]} addr=127.0.0.1:${pa} key=none`);
  const lineOfB = blocks()
    .flatMap((b) => b.lines)
    .find((l) => l[0] === "edge-b")!;
  expect(lineOfB).toEqual(["edge-b", `127.0.0.1:${pb}`, "alive", "zone=a,role=gateway", ids[pb]!]);

  // The webhook: refused once, delivered again with the same id and a fresh signature.
  await waitUntil(() => deliveries.some((d) => d.status === 204), 20_000);
  const [failed, retried] = deliveries as [Delivery, Delivery];
  expect(failed.status).toBe(500);
  expect(retried.headers["x-dsef-delivery"]).toBe(failed.headers["x-dsef-delivery"]!);
  expect(retried.body).toBe(failed.body);
  expect(retried.headers["content-type"]).toBe("application/json");

  // The receiver's check, as the README tells it: the key from `dsef webhook-key`, HMAC-SHA256.
  const printed = Bun.spawnSync([BUN, join(ROOT, "src/cli/dsef.ts"), "webhook-key"], { env: { ...process.env, DSEF_CLUSTER_KEY: secret } });
  expect(printed.exitCode).toBe(0);
  const [kid, keyHex] = printed.stdout.toString().trim().split(" ") as [string, string];
  const verify = (d: Delivery) => {
    const [hkid, ts, mac] = (d.headers["x-dsef-signature"] ?? "").split(".");
    if (hkid !== kid || Math.abs(Date.now() - Number(ts)) > 300_000) return false;
    const want = createHmac("sha256", Buffer.from(keyHex, "hex")).update(`dsef/v1 webhook\n${ts}\n${d.body}`).digest("base64url");
    return want.length === mac?.length && timingSafeEqual(Buffer.from(want), Buffer.from(mac));
  };
  expect(deliveries.every(verify)).toBe(true);
  expect(verify({ ...retried, body: retried.body.replace("edge", "edgE") })).toBe(false);

  const body = JSON.parse(retried.body);
  expect(body.id).toBe(retried.headers["x-dsef-delivery"]!);
  expect(body.node).toEqual({ id: ids[pa], name: "edge-a", address: `127.0.0.1:${pa}` });
  expect(body.dropped).toBe(0);
  const joinOfB = body.events.find((e: { member: { name: string } }) => e.member.name === "edge-b");
  expect(joinOfB).toMatchObject({ event: "member-join", member: { state: "alive", tags: { zone: "a", role: "gateway" } } });
  expect(typeof body.events[0].at).toBe("number");

  // Kill edge-c: the script and the webhook hear member-failed (only what the filter asked for).
  c.kill("SIGKILL");
  const failedIn = (events: { event: string; member: { id: string } }[]) => events.some((e) => e.event === "member-failed" && e.member.id === ids[pc]);
  await waitUntil(() => deliveries.some((d) => d.status === 204 && failedIn(JSON.parse(d.body).events)), 30_000);
  await waitUntil(() => blocks().some((b) => b.head.startsWith("event=member-failed ") && b.lines.some((l) => l[0] === "edge-c" && l[2] === "dead")), 10_000);
  const webhookEvents = deliveries.flatMap((d) => JSON.parse(d.body).events.map((e: { event: string }) => e.event));
  expect(new Set(webhookEvents)).toEqual(new Set(["member-join", "member-failed"]));

  // Counted: handler runs, the hanging handler's timeouts, the refused attempt; nothing dropped.
  // The hanging handler's `sleep` was killed with it.
  await waitUntil(async () => value((await scrape(a.url)).families, "dsef_hook_failures_total", { kind: "handler", reason: "timeout" }) >= 1, 10_000);
  const m = (await scrape(a.url)).families;
  expect(value(m, "dsef_hook_runs_total", { kind: "handler" })).toBeGreaterThanOrEqual(3);
  expect(value(m, "dsef_hook_runs_total", { kind: "webhook" })).toBeGreaterThanOrEqual(3);
  expect(value(m, "dsef_hook_failures_total", { kind: "webhook", reason: "http" })).toBe(1);
  expect(value(m, "dsef_hook_events_dropped_total", { kind: "webhook" })).toBe(0);
  // Each run was killed at its timeout (a run left alone would sleep 31 s).
  await waitUntil(() => Bun.spawnSync(["pgrep", "-f", nap]).stdout.toString().trim() === "", 10_000);
  // The node never waited for its hooks: it is healthy and sees edge-b alive.
  expect((await a.peers()).find((p) => p.port === pb)?.state).toBe("alive");
  receiver.stop(true);
}, 90_000);
