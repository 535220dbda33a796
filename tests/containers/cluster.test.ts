/**
 * A real edge cluster in Docker containers of the project image: convergence, crash and
 * restart with the same identity, and a network partition that heals without restarts.
 * All nodes bootstrap from one DNS name that resolves to every node (a network alias), the
 * mechanism the Kubernetes headless Service provides.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { StartedTestContainer } from "testcontainers";
import { bunInside, createNetwork, docker, engine, type PeerRow, peersOf, removeQuietly, startEdge, subnetHost, testImage, waitUntil } from "./docker.ts";

const N = 5;
const ALIAS = "dsef-peers";

describe.skipIf(!engine)("edge cluster in containers", () => {
  let network = "";
  const nodes: StartedTestContainer[] = [];
  const ips: string[] = [];
  const ids: string[] = [];

  const view = async (i: number) => new Map((await peersOf(nodes[i]!.getId())).map((p: PeerRow) => [p.ip, p.state]));
  /** Every listed node sees every listed ip in the given state. */
  const allSee = async (observers: number[], targets: number[], state: PeerRow["state"]) => {
    for (const o of observers) {
      const v = await view(o);
      if (!targets.every((t) => v.get(ips[t]!) === state)) return false;
    }
    return true;
  };
  const everyone = [...Array(N).keys()];
  /** Every node's view, for failure messages. */
  const views = async () =>
    (
      await Promise.all(
        everyone.map(async (i) => {
          try {
            const v = await view(i);
            return `edge${i} (${ips[i]}): ${ips.map((ip, j) => `edge${j}=${v.get(ip) ?? "unknown"}`).join(" ")}`;
          } catch (e) {
            return `edge${i}: ${(e as Error).message}`;
          }
        }),
      )
    ).join("\n");

  beforeAll(async () => {
    const image = await testImage();
    network = await createNetwork("dsef-cluster");
    for (let i = 0; i < N; i++) ips.push(await subnetHost(network, 10 + i));
    // All at once, all with the same DNS-name bootstrap: no node is special.
    const started = await Promise.all(
      ips.map((ip, i) =>
        startEdge(image, { network, ip, aliases: [ALIAS], name: `edge${i}`, capacity: [1000, 800, 500, 600, 600][i], bootstrap: `${ALIAS}:5000` }),
      ),
    );
    nodes.push(...started);
  }, 120_000);

  afterAll(async () => {
    await removeQuietly(
      nodes.map((n) => n.getId()),
      network ? [network] : [],
    );
  });

  it("the bootstrap DNS name resolves to every node", async () => {
    const script = `const a = await require("node:dns").promises.lookup("${ALIAS}", { all: true }); console.log(JSON.stringify(a.map((x) => x.address).sort()))`;
    const resolved = JSON.parse(await bunInside(nodes[0]!.getId(), script)) as string[];
    expect(resolved).toEqual([...ips].sort());
  }, 30_000);

  it("converges: every node's /peers lists all 5 alive", async () => {
    const t0 = Date.now();
    await waitUntil("all 5 nodes see all 5 alive", () => allSee(everyone, everyone, "alive"), 45_000, 500, views);
    console.log(`  converged ${Date.now() - t0} ms after the containers were up`);
    for (const i of everyone) {
      const peers = await peersOf(nodes[i]!.getId());
      expect(peers).toHaveLength(N);
      const self = peers.find((p) => p.self)!;
      expect(self.ip).toBe(ips[i]!);
      ids.push(self.id);
    }
  }, 60_000);

  it("docker kill → the others mark it dead; start again → it rejoins with its identity", async () => {
    const victim = 4;
    const others = [0, 1, 2, 3];
    await docker("kill", nodes[victim]!.getId());
    const killedAt = Date.now();
    await waitUntil("the others mark the killed node dead", () => allSee(others, [victim], "dead"), 30_000, 500, views);
    console.log(`  killed node declared dead by all in ${Date.now() - killedAt} ms`);

    await docker("start", nodes[victim]!.getId());
    await waitUntil("everyone sees all alive again", () => allSee(everyone, everyone, "alive"), 30_000, 500, views);
    const peers = await peersOf(nodes[victim]!.getId());
    expect(peers.find((p) => p.self)!.id).toBe(ids[victim]!);
    // Nobody holds a second entry for it under a new id.
    for (const o of others) expect((await peersOf(nodes[o]!.getId())).filter((p) => p.ip === ips[victim])).toHaveLength(1);
    const logs = await docker("logs", nodes[victim]!.getId());
    expect(logs).toContain("loaded node identity");
  }, 90_000);

  it("a partitioned node is declared dead; after reconnecting the views merge without restarts", async () => {
    const cut = 2;
    const others = [0, 1, 3, 4];
    const id = nodes[cut]!.getId();
    const startedAt = await docker("inspect", "-f", "{{.State.StartedAt}}", id);
    await docker("network", "disconnect", network, id);
    await waitUntil("the majority marks the cut-off node dead", () => allSee(others, [cut], "dead"), 30_000, 500, views);
    await waitUntil("the cut-off node marks everyone else dead", () => allSee([cut], others, "dead"), 45_000, 500, views);

    await docker("network", "connect", "--ip", ips[cut]!, "--alias", ALIAS, network, id);
    const healedAt = Date.now();
    await waitUntil("views merge: all see all alive", () => allSee(everyone, everyone, "alive"), 60_000, 500, views);
    console.log(`  partition healed (all alive everywhere) ${Date.now() - healedAt} ms after reconnect`);
    // Same process throughout: it healed, it was not restarted.
    expect(await docker("inspect", "-f", "{{.State.StartedAt}}", id)).toBe(startedAt);
    expect((await peersOf(id)).find((p) => p.self)!.id).toBe(ids[cut]!);
  }, 150_000);

  it("docker stop (SIGTERM to the exec-form entrypoint) → the node leaves gracefully: others see it left", async () => {
    const leaver = 3;
    const others = [0, 1, 2, 4];
    const id = nodes[leaver]!.getId();
    const t0 = Date.now();
    await docker("stop", "-t", "10", id);
    const stopMs = Date.now() - t0;
    expect(await docker("inspect", "-f", "{{.State.ExitCode}}", id)).toBe("0");
    expect(stopMs).toBeLessThan(5_000); // it exited on SIGTERM, not on Docker's SIGKILL after 10 s
    expect(await docker("logs", id)).toContain("leaving the cluster");
    await waitUntil("the others see it left (not dead)", () => allSee(others, [leaver], "left"), 10_000, 500, views);
    await docker("start", id);
    await waitUntil("it is back, alive everywhere", () => allSee(everyone, everyone, "alive"), 30_000, 500, views);
  }, 60_000);

  it("the image's HEALTHCHECK reports the nodes healthy", async () => {
    await waitUntil(
      "docker reports healthy",
      async () => (await docker("inspect", "-f", "{{.State.Health.Status}}", nodes[0]!.getId())) === "healthy",
      30_000,
      1_000,
    );
  }, 40_000);
});
