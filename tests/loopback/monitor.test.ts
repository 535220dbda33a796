/**
 * `dsef monitor` against real nodes: membership events as they happen (a join, a kill -9), log
 * lines at the level asked for even below the node's own (its output keeps its level), the
 * API token when the node has one, and only the node's own host without one.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { allocPorts, BUN, type NodeProcess, ROOT, spawnNode, stopAll, waitUntil } from "../support/processes.ts";
import { scrape, value } from "../support/prometheus.ts";

const nodes: NodeProcess[] = [];
const monitors: Subprocess[] = [];
afterAll(async () => {
  for (const m of monitors) m.kill("SIGKILL");
  await stopAll(nodes);
});

const DSEF = [BUN, join(ROOT, "src/cli/dsef.ts")];
type Shown = { type: string; data: Record<string, any> };

/** `dsef monitor` as a process, its stdout and stderr split into lines as they come. */
function monitor(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([...DSEF, "monitor", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  monitors.push(proc);
  const lines = (stream: ReadableStream<Uint8Array>) => {
    const out: string[] = [];
    void (async () => {
      const dec = new TextDecoder();
      let partial = "";
      for await (const chunk of stream) {
        const parts = (partial + dec.decode(chunk, { stream: true })).split("\n");
        partial = parts.pop()!;
        out.push(...parts.filter(Boolean));
      }
      if (partial) out.push(partial);
    })();
    return out;
  };
  const stdout = lines(proc.stdout);
  const stderr = lines(proc.stderr);
  return { proc, stdout, stderr, shown: () => stdout.map((l) => JSON.parse(l) as Shown) };
}

describe("dsef monitor", () => {
  test("streams a join, a killed member's failure, and debug lines from a node that logs at info", async () => {
    const [pa, pb, pc] = allocPorts(3) as [number, number, number];
    const a = await spawnNode({ port: pa, args: ["--name", "edge-a"] });
    const b = await spawnNode({ port: pb, bootstrap: a.url, args: ["--name", "edge-b"] });
    nodes.push(a, b);
    const m = monitor(["--node", a.url, "--level", "debug", "--json"]);
    await waitUntil(
      () => m.shown().some((e) => e.type === "hello"),
      10_000,
      () => m.stderr.join("\n"),
    );
    expect(m.shown()[0]!.data).toMatchObject({ level: "debug", node_level: "info", node: { name: "edge-a", addr: `127.0.0.1:${pa}` } });
    expect(value((await scrape(a.url)).families, "dsef_monitor_clients")).toBe(1);

    // A packet: its debug line reaches the monitor, not the node's own output (which stays at info).
    const sent = await fetch(`${a.url}/handle_request`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"processing_load": 1}' });
    const { packet_id } = (await sent.json()) as { packet_id: string };
    const logged = () => m.shown().find((e) => e.type === "log" && e.data.msg === "packet accepted" && e.data.packet_id === packet_id);
    await waitUntil(() => logged() !== undefined, 10_000);
    expect(logged()!.data).toMatchObject({ level: 20, node: "edge-a" });
    expect(a.output.some((l) => l.includes('"level":20'))).toBe(false);

    // A member joins, then is killed: member-join, then member-failed, as they happen.
    const c = await spawnNode({ port: pc, bootstrap: a.url, args: ["--name", "edge-c"] });
    nodes.push(c);
    const cid = (await c.status()).id as string;
    const heard = (event: string) => m.shown().find((e) => e.type === "member" && e.data.event === event && e.data.member.id === cid);
    await waitUntil(() => heard("member-join") !== undefined, 15_000);
    expect(heard("member-join")!.data.member).toMatchObject({ name: "edge-c", address: `127.0.0.1:${pc}`, state: "alive" });
    c.kill("SIGKILL");
    await waitUntil(() => heard("member-failed") !== undefined, 30_000);
    expect(heard("member-failed")!.data.member.state).toBe("dead");

    // Ctrl-C ends it cleanly, and the node forgets the stream.
    m.proc.kill("SIGINT");
    expect(await m.proc.exited).toBe(0);
    await waitUntil(async () => value((await scrape(a.url)).families, "dsef_monitor_clients") === 0, 10_000);
  }, 90_000);

  test("the plain output: one line per event; a bad level is refused; a node that goes away ends it with 1", async () => {
    const [p] = allocPorts(1) as [number];
    const n = await spawnNode({ port: p, args: ["--name", "lonely"] });
    nodes.push(n);
    const bad = Bun.spawnSync([...DSEF, "monitor", "--node", n.url, "--level", "loud"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.toString()).toContain("--level: expected one of trace, debug, info, warn, error");
    expect((await fetch(`${n.url}/monitor?level=loud`)).status).toBe(400);

    const m = monitor(["--node", n.url, "--level", "warn"]);
    await waitUntil(
      () => m.stdout.some((l) => l.includes("[MONITOR] lonely")),
      10_000,
      () => m.stderr.join("\n"),
    );
    expect(m.stdout[0]).toContain("log lines at warn and above");
    n.kill("SIGKILL");
    expect(await m.proc.exited).toBe(1);
    await waitUntil(() => m.stderr.some((l) => l.includes("ended the stream") || l.includes("broke")), 5000);
  }, 60_000);

  test("with --api-token, the token is needed (DSEF_API_TOKEN for the command)", async () => {
    const token = "monitor-test-token-0123456789abcdef";
    const [p] = allocPorts(1) as [number];
    const n = await spawnNode({ port: p, args: ["--api-token", token], apiToken: token });
    nodes.push(n);
    expect((await fetch(`${n.url}/monitor`)).status).toBe(401);
    const refused = Bun.spawnSync([...DSEF, "monitor", "--node", n.url], { env: { ...process.env, DSEF_API_TOKEN: "" } });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.toString()).toContain("needs the node's API token: set DSEF_API_TOKEN");
    const m = monitor(["--node", n.url, "--json"], { DSEF_API_TOKEN: token });
    await waitUntil(
      () => m.shown().some((e) => e.type === "hello"),
      10_000,
      () => m.stderr.join("\n"),
    );
    m.proc.kill("SIGINT");
    expect(await m.proc.exited).toBe(0);
  }, 60_000);

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === "IPv4")?.address;
  test.skipIf(!external)(
    "without --api-token, only the node's own host may monitor it; streams are capped per client",
    async () => {
      const [p] = allocPorts(1) as [number];
      const n = await spawnNode({ port: p, args: ["--bind", "0.0.0.0"] });
      nodes.push(n);
      // From this host's other address the node sees a non-loopback client.
      const far = await fetch(`http://${external}:${p}/monitor`);
      expect(far.status).toBe(403);
      expect(((await far.json()) as { error: string }).error).toContain("--api-token");
      // From loopback: at most 4 streams per client address.
      const open = await Promise.all(Array.from({ length: 4 }, () => fetch(`${n.url}/monitor`)));
      expect(open.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect((await fetch(`${n.url}/monitor`)).status).toBe(429);
      for (const r of open) await r.body?.cancel();
    },
    60_000,
  );
});
