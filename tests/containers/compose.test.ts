/**
 * The project's docker-compose.yml as a user runs it: `up --scale esp=20`, through Compose v2
 * when `docker compose` exists, else the standalone docker-compose v1 (Debian's package).
 * The edges must form one cluster visible on the dashboard port; the 20 ESP containers run.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DockerComposeEnvironment, type StartedDockerComposeEnvironment } from "testcontainers";
import { engine, freePort, httpInside, type PeerRow, ROOT, run, testImage, waitUntil } from "./docker.ts";

const ESP = 20;
const hasSimulator = existsSync(join(ROOT, "esp/simulator.ts"));

async function composeExecutable(): Promise<{ standalone: true; executablePath: string } | undefined> {
  if ((await run(["docker", "compose", "version"])).code === 0) return undefined; // v2 plugin: the default
  const v1 = Bun.which("docker-compose");
  return v1 ? { standalone: true, executablePath: v1 } : undefined;
}

describe.skipIf(!engine)("docker-compose.yml", () => {
  let env: StartedDockerComposeEnvironment | undefined;
  let port = 0;
  const project = `dsefcompose${process.pid}`;

  beforeAll(async () => {
    const image = await testImage();
    port = await freePort();
    const executable = await composeExecutable();
    env = await new DockerComposeEnvironment(ROOT, "docker-compose.yml")
      .withProjectName(project)
      .withEnvironment({ DSEF_IMAGE: image, DSEF_DASHBOARD_PORT: String(port) })
      .withClientOptions({ ...(executable ? { executable } : {}), commandOptions: ["--no-build", "--scale", `esp=${ESP}`] })
      .withStartupTimeout(120_000)
      .up();
  }, 240_000);

  afterAll(async () => {
    await env?.down({ timeout: 5_000, removeVolumes: true });
  }, 120_000);

  const containers = async (service: string, all = false) =>
    (
      await run([
        "docker",
        "ps",
        ...(all ? ["-a"] : []),
        "-q",
        "--filter",
        `label=com.docker.compose.project=${project}`,
        "--filter",
        `label=com.docker.compose.service=${service}`,
      ])
    ).out
      .split("\n")
      .filter(Boolean);

  it("the edges see each other, on the dashboard port", async () => {
    const url = `http://127.0.0.1:${port}/peers`;
    let peers: PeerRow[] = [];
    await waitUntil(
      "edge1 lists edge1..3 alive",
      async () => {
        peers = (await (await fetch(url, { signal: AbortSignal.timeout(2000) })).json()) as PeerRow[];
        return ["edge1", "edge2", "edge3"].every((n) => peers.some((p) => p.name === n && p.state === "alive"));
      },
      60_000,
    );
    expect(
      peers
        .filter((p) => p.state === "alive")
        .map((p) => p.name)
        .sort(),
    ).toEqual(["edge1", "edge2", "edge3"]);
    const capacities = Object.fromEntries(peers.map((p) => [p.name, p.promised_capacity]));
    expect(capacities).toEqual({ edge1: 1000, edge2: 800, edge3: 500 });
  }, 90_000);

  it(`--scale esp=${ESP} makes ${ESP} simulator containers`, async () => {
    expect(await containers("esp", true)).toHaveLength(ESP);
  }, 30_000);

  it.skipIf(!hasSimulator)(
    `all ${ESP} simulators run and the edges accept their packets`,
    async () => {
      const edges = [...(await containers("edge1")), ...(await containers("edge2")), ...(await containers("edge3"))];
      expect(edges).toHaveLength(3);
      let accepted = 0;
      await waitUntil(
        `packets from at least ${ESP} devices accepted`,
        async () => {
          const statuses = await Promise.all(edges.map((id) => httpInside<{ load?: { accepted?: number } }>(id, "/status")));
          accepted = statuses.reduce((n, s) => n + (s.load?.accepted ?? 0), 0);
          return accepted >= ESP;
        },
        45_000,
        1_000,
      );
      console.log(`  edges accepted ${accepted} packets`);
      expect(await containers("esp")).toHaveLength(ESP); // none exited
    },
    60_000,
  );
});
