/**
 * User handlers end to end on real processes: a module in Workers (results returned with
 * `wait`, a throwing handler fails only its packet, a hanging one is timed out and its Worker
 * replaced, a crashing one too), GET /packets/:id from a node that did not run the packet, and
 * the sidecar model (--upstream).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { allocPorts, BUN, type NodeProcess, ROOT, spawnNode, startCluster, stopAll, waitUntil } from "../support/processes.ts";

const HANDLER = join(ROOT, "tests/fixtures/handler.ts");

async function post(node: NodeProcess, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${node.url}/handle_request`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe("--handler: a module in Workers", () => {
  let nodes: NodeProcess[] = [];
  beforeAll(async () => {
    nodes = await startCluster(2, { args: ["--handler", HANDLER, "--workers", "2", "--handler-timeout", "1s"] });
  });
  afterAll(() => stopAll(nodes));

  test('"wait": true returns the handler\'s result; the handler gets the packet id', async () => {
    const r = await post(nodes[0]!, { processing_load: 5, packet_id: "echo-1", payload: { op: "echo", n: 42 }, wait: true });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "accepted", packet_id: "echo-1", state: "done", result: { echo: { op: "echo", n: 42 }, packet_id: "echo-1" } });
  });

  test("Prefer: wait=N works too; without a wait the ack comes at once and the outcome is read later", async () => {
    const r = await post(nodes[0]!, { processing_load: 5, packet_id: "echo-2", payload: { op: "echo" } }, { prefer: "wait=5" });
    expect(r.body).toMatchObject({ state: "done", result: { packet_id: "echo-2" } });
    const quick = await post(nodes[0]!, { processing_load: 5, packet_id: "slow-1", payload: { op: "sleep", ms: 400 } });
    expect(quick.body.state).toBeUndefined();
    expect((await (await fetch(`${nodes[0]!.url}/packets/slow-1`)).json()).state).toBe("running");
  });

  test("GET /packets/:id from a node that did not run the packet asks the others", async () => {
    const r = await post(nodes[0]!, { processing_load: 5, packet_id: "far-1", payload: { op: "sleep", ms: 300 } });
    const at = r.body.handled_by as string;
    const other = nodes.find((n) => !n.url.endsWith(at))!;
    const running = await (await fetch(`${other.url}/packets/far-1`)).json();
    expect(running).toMatchObject({ packet_id: "far-1", handled_by: at });
    expect(["queued", "running", "done"]).toContain(running.state);
    const done = await (await fetch(`${other.url}/packets/far-1?wait=5`)).json();
    expect(done).toMatchObject({ state: "done", result: { slept: 300 }, handled_by: at });
    const unknown = await fetch(`${other.url}/packets/never-sent`);
    expect(unknown.status).toBe(404);
    expect((await fetch(`${other.url}/packets/${"x".repeat(200)}`)).status).toBe(400);
  });

  test("a throwing handler fails its packet only", async () => {
    const r = await post(nodes[0]!, { processing_load: 5, packet_id: "throw-1", payload: { op: "throw" }, wait: true });
    expect(r.body).toMatchObject({ status: "accepted", state: "failed", error: "handler says no" });
    const ok = await post(nodes[0]!, { processing_load: 5, payload: { op: "echo" }, wait: true });
    expect(ok.body.state).toBe("done");
  });

  test("a hanging handler is timed out, its Worker replaced; a crashing one too; the node carries on", async () => {
    const hang = post(nodes[0]!, { processing_load: 5, packet_id: "hang-1", payload: { op: "hang" }, wait: true });
    const exit = post(nodes[0]!, { processing_load: 5, packet_id: "exit-1", payload: { op: "exit" }, wait: true });
    expect((await exit).body).toMatchObject({ state: "failed", error: "handler crashed: worker exited" });
    const h = await hang;
    expect(h.body).toMatchObject({ state: "failed", error: "handler timed out after 1000 ms" });
    expect(h.body.run_ms).toBeGreaterThanOrEqual(990);
    // Both Workers are back: two packets run side by side again.
    await waitUntil(async () => (await nodes[0]!.status()).load.idle_workers === 2, 10_000);
    const both = await Promise.all([1, 2].map((i) => post(nodes[0]!, { processing_load: 5, packet_id: `after-${i}`, payload: { op: "echo" }, wait: true })));
    expect(both.map((b) => b.body.state)).toEqual(["done", "done"]);
    const s = (await nodes[0]!.status()).load;
    expect(s).toMatchObject({ timeouts: 1, crashes: 1, restarts: 2, workers: 2 });
    expect(await fetch(`${nodes[0]!.url}/health`).then((r) => r.status)).toBe(200);
  });
});

describe("--upstream: a local service runs the packets", () => {
  let node: NodeProcess;
  let upstream: ReturnType<typeof Bun.serve>;
  beforeAll(async () => {
    upstream = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        const { packet, ctx } = (await req.json()) as { packet: { packet_id: string; payload?: { fail?: boolean } }; ctx: { node: string } };
        if (packet.payload?.fail) return new Response("nope", { status: 500 });
        return Response.json({ seen: packet.packet_id, by: ctx.node });
      },
    });
    node = await spawnNode({ port: allocPorts(1)[0]!, args: ["--upstream", `http://127.0.0.1:${upstream.port}/run`] });
  });
  afterAll(async () => {
    await stopAll([node]);
    upstream.stop(true);
  });

  test("its JSON answer is the result; a 5xx fails the packet", async () => {
    const ok = await post(node, { processing_load: 1, packet_id: "up-1", wait: true });
    expect(ok.body).toMatchObject({ state: "done", result: { seen: "up-1", by: `127.0.0.1:${node.port}` } });
    const bad = await post(node, { processing_load: 1, packet_id: "up-2", payload: { fail: true }, wait: true });
    expect(bad.body).toMatchObject({ state: "failed", error: "upstream answered 500: nope" });
  });
});

test("a --handler that cannot be loaded stops the node at start: one line with the reason, exit 2", async () => {
  const p = Bun.spawn(
    [BUN, join(ROOT, "src/main.ts"), "--port", String(allocPorts(1)[0]), "--handler", join(ROOT, "tests/fixtures/no-such-handler.ts"), "--log-format", "json"],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  expect(await p.exited).toBe(2);
  const err = (await new Response(p.stderr).text()).trim();
  expect(err.split("\n")).toHaveLength(1);
  expect(err).toStartWith("dsef: --handler: cannot load handler:");
});
