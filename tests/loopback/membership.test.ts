/**
 * Five real edge-node processes on loopback, real UDP and HTTP: crash, stall, leave, restart,
 * garbage. The same cluster lives through the scenarios in order.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { encode } from "@msgpack/msgpack";
import { allSee, type NodeProcess, type PeerRow, startCluster, stopAll, waitUntil } from "../support/processes.ts";

let nodes: NodeProcess[] = [];
const ids = new Map<number, string>();

beforeAll(async () => {
  nodes = await startCluster(5, { capacities: [1000, 800, 500, 600, 600] });
  for (const n of nodes) ids.set(n.port, (await n.status()).id);
}, 60_000);

afterAll(async () => {
  await stopAll(nodes);
});

/** Log lines (any node) that report `event` about the node on `port`. */
function eventsAbout(port: number, event: string): unknown[] {
  const id = ids.get(port);
  return nodes.flatMap((n) => n.output.filter((l) => l.includes(`"event":"${event}"`) && l.includes(`"member":"${id}"`)));
}

const others = (x: NodeProcess) => nodes.filter((n) => n !== x);

describe("loopback cluster", () => {
  test("all five see each other alive, with the seed's fields", async () => {
    const peers = await nodes[2]!.peers();
    expect(peers).toHaveLength(5);
    const row = peers.find((p) => p.port === nodes[1]!.port) as PeerRow;
    expect(row).toMatchObject({ ip: "127.0.0.1", state: "alive", promised_capacity: 800 });
    expect(typeof row.incarnation).toBe("number");
    expect((await fetch(`${nodes[0]!.url}/peer`)).status).toBe(200);
    expect((await fetch(`${nodes[0]!.url}/ready`)).status).toBe(200);
  });

  test("SIGSTOP for 1.5 s, then SIGCONT: never declared dead", async () => {
    const victim = nodes[3]!;
    victim.kill("SIGSTOP");
    await Bun.sleep(1500);
    victim.kill("SIGCONT");
    await Bun.sleep(6000);
    expect(eventsAbout(victim.port, "dead")).toEqual([]);
    expect(await allSee(nodes, nodes, "alive")).toBe(true);
  }, 20_000);

  test("kill -9: every survivor marks it dead; restarted with its data dir it is alive again everywhere", async () => {
    const victim = nodes[1]!;
    victim.kill("SIGKILL");
    await victim.exited;
    const tookMs = await waitUntil(() => allSee(others(victim), [victim], "dead"), 15_000);
    console.log(`crash -> all survivors say dead: ${tookMs.toFixed(0)} ms`);
    await victim.restart();
    await waitUntil(() => allSee(nodes, nodes, "alive"), 15_000);
    expect((await victim.status()).id).toBe(ids.get(victim.port)!);
  }, 40_000);

  test("SIGSTOP for 20 s: declared dead, and rejoins after SIGCONT", async () => {
    const victim = nodes[4]!;
    victim.kill("SIGSTOP");
    const stoppedAt = performance.now();
    try {
      const tookMs = await waitUntil(() => allSee(others(victim), [victim], "dead"), 20_000);
      console.log(`silent failure -> all survivors say dead: ${tookMs.toFixed(0)} ms`);
      expect(eventsAbout(victim.port, "suspect").length).toBeGreaterThan(0);
      await Bun.sleep(Math.max(0, 20_000 - (performance.now() - stoppedAt)));
    } finally {
      victim.kill("SIGCONT");
    }
    await waitUntil(() => allSee(nodes, nodes, "alive"), 20_000);
  }, 50_000);

  test("garbage datagrams: the node keeps working and its table is unchanged", async () => {
    const target = nodes[0]!;
    const before = (await target.peers()).map((p) => `${p.id}:${p.state}`).sort();
    const sock = createSocket("udp4");
    const valid = encode({ t: 4, f: "attacker", u: [] });
    const junk: Uint8Array[] = [];
    for (let i = 0; i < 500; i++) junk.push(crypto.getRandomValues(new Uint8Array(1 + (i % 300))));
    junk.push(
      valid.slice(0, 3),
      new Uint8Array(4000),
      encode({ t: 0, s: 1 }),
      encode([1, 2, 3]),
      encode({ t: 4, f: "x", u: [{ k: 0, i: 1 }] }),
      encode("ping"),
    );
    // Paced so the kernel's socket buffer does not drop any: every one must reach the node's checks.
    for (const [i, j] of junk.entries()) {
      sock.send(j, target.port, "127.0.0.1");
      if (i % 25 === 24) await Bun.sleep(5);
    }
    await Bun.sleep(1000);
    sock.close();
    expect((await fetch(`${target.url}/health`)).status).toBe(200);
    const after = (await target.peers()).map((p) => `${p.id}:${p.state}`).sort();
    expect(after).toEqual(before);
    // Each junk datagram is dropped whole, or (a valid envelope) has its bad update dropped.
    const { drops, updatesDropped } = (await target.status()).transport as { drops: Record<string, number>; updatesDropped: number };
    expect(Object.values(drops).reduce((a, b) => a + b, 0) + updatesDropped).toBeGreaterThanOrEqual(junk.length);
  }, 20_000);

  test("SIGTERM: seen as left by every other node within 2 s; the process exits 0", async () => {
    const victim = nodes[2]!;
    const t0 = performance.now();
    victim.kill("SIGTERM");
    await waitUntil(() => allSee(others(victim), [victim], "left"), 2000);
    console.log(`SIGTERM -> all say left: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(await victim.exited).toBe(0);
  }, 10_000);
});

describe("restarts", () => {
  test("the first node, stopped with SIGTERM and started again without --bootstrap, finds its cluster through the peers it remembered", async () => {
    const founder = nodes[0]!;
    const live = nodes.filter((n) => n !== nodes[2]);
    founder.kill("SIGTERM");
    expect(await founder.exited).toBe(0);
    await waitUntil(
      () =>
        allSee(
          others(founder).filter((n) => n !== nodes[2]),
          [founder],
          "left",
        ),
      5000,
    );
    await founder.restart();
    await waitUntil(() => allSee(live, live, "alive"), 10_000);
  }, 30_000);
});

describe("command line", () => {
  const run = (args: string[]) => Bun.spawnSync([process.execPath, "src/main.ts", ...args], { cwd: `${import.meta.dir}/../..` });

  test("a bad flag: one line on stderr, exit code 2", () => {
    for (const args of [["--port", "nope"], ["--what"], ["--bootstrap", "http://"]]) {
      const r = run(args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.toString().trim().split("\n")).toHaveLength(1);
    }
  });

  test("--help lists the flags and exits 0", () => {
    const r = run(["--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toContain("--promised_capacity");
  });
});
