/**
 * docker-compose.tls.yml on top of docker-compose.yml, as its header tells a user to run it:
 * certificates from `dsef ca init` / `dsef ca issue --tls`, the three edges serving https only,
 * calling each other over https (joins, syncs, backups' hand-offs), the image's health check
 * passing over https, and ESP containers speaking https to the edges.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testAuthority } from "../support/tls.ts";
import { bunInside, composeCommand, docker, engine, freePort, ROOT, run, testImage, waitUntil } from "./docker.ts";

const EDGES = ["edge1", "edge2", "edge3"];
const ESP = 3;

/**
 * The certificates as the file's header makes them, from the test run's one authority (made by
 * `dsef ca init`, support/tls.ts): Bun keeps the first CA a process verified with, so every
 * test in the process must use the same one.
 */
async function makeCertificates(image: string): Promise<{ dir: string; ca: string }> {
  const authority = testAuthority();
  const dir = join(mkdtempSync(join(tmpdir(), "dsef-compose-tls-")), "tls");
  const p = Bun.spawnSync(
    [
      process.execPath,
      join(ROOT, "src/cli/dsef.ts"),
      "ca",
      "issue",
      "--tls",
      "--ca-key",
      join(authority.dir, "ca.key"),
      "--data-dir",
      dir,
      "--dns",
      "edge",
      "--dns",
      "localhost",
      "--ip",
      "127.0.0.1",
    ],
    { stderr: "pipe" },
  );
  if (p.exitCode !== 0) throw new Error(`dsef ca issue: ${p.stderr.toString()}`);
  copyFileSync(authority.caFile, join(dir, "tls-ca.crt"));
  // `chown -R 1000 tls`: the image runs as uid 1000 (tls.key keeps mode 0600). Done as root
  // inside the image, so the test needs no root of its own.
  const script = `const fs = require("node:fs"); for (const f of [".", ...fs.readdirSync("/t")]) fs.chownSync("/t/" + f, 1000, 1000);`;
  await docker("run", "--rm", "--user", "0", "-e", "BUN_BE_BUN=1", "-v", `${dir}:/t`, "--entrypoint", "/usr/local/bin/dsef", image, "-e", script);
  return { dir, ca: readFileSync(join(dir, "tls-ca.crt"), "utf8") };
}

/** Every edge's /status, read over https from inside edge1 (the chain checked against the CA). */
const STATUS_SCRIPT = `
const ca = await Bun.file("/tls/tls-ca.crt").text();
const out = {};
await Promise.all(${JSON.stringify(EDGES)}.map(async (h) => {
  const r = await fetch("https://" + h + ":5000/status", { signal: AbortSignal.timeout(3000), tls: { ca, checkServerIdentity: () => undefined } });
  out[h] = await r.json();
}));
process.stdout.write(JSON.stringify(out));`;

type Status = {
  load: { accepted: number; batches_received: number; batches_refused: number };
  security: { node_requests: { accepted: number; refused: { total: number } } };
};

describe.skipIf(!engine)("docker-compose.tls.yml", () => {
  const project = `dsefcomposetls${process.pid}`;
  let compose: string[] = [];
  let env: Record<string, string> = {};
  let ca = "";
  let port = 0;
  const c = (...args: string[]) =>
    run([...compose, "-p", project, "-f", join(ROOT, "docker-compose.yml"), "-f", join(ROOT, "docker-compose.tls.yml"), ...args], { env, timeoutMs: 180_000 });
  const containerOf = async (service: string) =>
    (await docker("ps", "-q", "--filter", `label=com.docker.compose.project=${project}`, "--filter", `label=com.docker.compose.service=${service}`)).split(
      "\n",
    )[0]!;

  beforeAll(async () => {
    const cmd = await composeCommand();
    if (!cmd) throw new Error("neither `docker compose` nor docker-compose is installed");
    compose = cmd;
    const image = await testImage();
    const certs = await makeCertificates(image);
    ca = certs.ca;
    port = await freePort();
    env = { DSEF_IMAGE: image, DSEF_DASHBOARD_PORT: String(port), DSEF_TLS_DIR: certs.dir };
    const up = await c("up", "-d", "--no-build", "--scale", `esp=${ESP}`);
    if (up.code !== 0) throw new Error(`compose up failed (${up.code}): ${up.err.trim()}`);
  }, 240_000);

  afterAll(async () => {
    await c("down", "-v", "-t", "5");
  }, 120_000);

  it("the edges form one cluster over https; plain http gets nothing", async () => {
    await waitUntil(
      "edge1 lists edge1..3 alive over https",
      async () => {
        const res = await fetch(`https://127.0.0.1:${port}/peers`, { signal: AbortSignal.timeout(2000), tls: { ca } });
        const peers = (await res.json()) as { name: string; state: string }[];
        return EDGES.every((n) => peers.some((p) => p.name === n && p.state === "alive"));
      },
      60_000,
    );
    const plain = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status,
      () => "no answer",
    );
    expect(plain).not.toBe(200);
  }, 90_000);

  it("the image's health check passes over https", async () => {
    const ids = await Promise.all(EDGES.map(containerOf));
    await waitUntil(
      "every edge container healthy",
      async () => (await Promise.all(ids.map((id) => docker("inspect", "-f", "{{.State.Health.Status}}", id)))).every((s) => s.trim() === "healthy"),
      60_000,
      1_000,
    );
  }, 90_000);

  it(`${ESP} ESP containers deliver over https; the edges hand packets to backups over https, nothing refused`, async () => {
    const edge1 = await containerOf("edge1");
    let statuses: Record<string, Status> = {};
    await waitUntil(
      "packets accepted from the devices and handed to backups",
      async () => {
        statuses = JSON.parse(await bunInside(edge1, STATUS_SCRIPT));
        const all = Object.values(statuses);
        return all.reduce((n, s) => n + s.load.accepted, 0) >= ESP && all.reduce((n, s) => n + s.load.batches_received, 0) > 0;
      },
      60_000,
      1_000,
    );
    const all = Object.values(statuses);
    console.log(
      `  over https: ${all.reduce((n, s) => n + s.load.accepted, 0)} packets accepted, ${all.reduce((n, s) => n + s.security.node_requests.accepted, 0)} node requests`,
    );
    expect(all.map((s) => s.load.batches_refused + s.security.node_requests.refused.total)).toEqual(EDGES.map(() => 0));
    expect(
      (await docker("ps", "-q", "--filter", `label=com.docker.compose.project=${project}`, "--filter", "label=com.docker.compose.service=esp"))
        .split("\n")
        .filter(Boolean),
    ).toHaveLength(ESP);
  }, 90_000);
});
