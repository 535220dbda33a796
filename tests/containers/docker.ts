/**
 * Support for the container suite: is a Docker engine reachable, the image under test, small
 * docker CLI helpers, and reading a node's views from inside its container.
 *
 * Without an engine every container test skips (describe.skipIf(!engine)); CI starts one.
 * Image: DSEF_TEST_IMAGE if set (CI builds it first), else built once with .ci/build-image.sh.
 */
import { createServer } from "node:net";
import { join } from "node:path";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";

export const ROOT = join(import.meta.dir, "..", "..");

// This machine has no registry: no Ryuk reaper image, and no alpine for host-IP probing.
// Set only when unset, so a developer's own settings win. testcontainers reads them at its
// first container operation, not at import, so setting them here (after imports) is in time.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost";

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** Run a command (argv form, no shell) and collect its output. */
export async function run(argv: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<Run> {
  const proc = Bun.spawn(argv, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

export async function docker(...args: string[]): Promise<string> {
  const r = await run(["docker", ...args]);
  if (r.code !== 0) throw new Error(`docker ${args.join(" ")} failed (${r.code}): ${r.err.trim()}`);
  return r.out.trim();
}

async function engineReachable(): Promise<boolean> {
  if (!Bun.which("docker")) return false;
  try {
    return (await run(["docker", "version", "--format", "{{.Server.Version}}"], { timeoutMs: 10_000 })).code === 0;
  } catch {
    return false;
  }
}

/** True when a Docker engine answers; the container tests skip otherwise. */
export const engine = await engineReachable();
if (!engine) console.warn("tests/containers: no Docker engine reachable, container tests skipped");

let image: Promise<string> | undefined;

/** The image under test, built once per test process. */
export function testImage(): Promise<string> {
  image ??= (async () => {
    const given = process.env.DSEF_TEST_IMAGE;
    if (given) return given;
    // No registry here: the script makes the pinned base image offline first when it is missing.
    const r = await run(["bash", join(ROOT, ".ci/build-image.sh"), "dsef:test"], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`image build failed: ${r.err}`);
    const tag = r.out.trim();
    return tag;
  })();
  return image;
}

export type { PeerRow } from "../support/processes.ts";

import type { PeerRow } from "../support/processes.ts";

/**
 * GET a route of the node inside a container, from inside it: works whatever the container's
 * networks are (even while it is cut off from them), and needs no published port.
 */
export async function httpInside<T = unknown>(containerId: string, path: string, port = 5000): Promise<T> {
  const script = `const r = await fetch("http://127.0.0.1:${port}${path}", { signal: AbortSignal.timeout(3000) }); process.stdout.write(await r.text());`;
  return JSON.parse(await bunInside(containerId, script)) as T;
}

/**
 * Run a script inside a container of the image. The image has no shell and no `bun`, only the
 * compiled `dsef`, which BUN_BE_BUN=1 turns back into the Bun runtime it carries.
 */
export function bunInside(containerId: string, script: string): Promise<string> {
  return docker("exec", "-e", "BUN_BE_BUN=1", containerId, "dsef", "-e", script);
}

export const peersOf = (id: string) => httpInside<PeerRow[]>(id, "/peers");

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 500, explain?: () => Promise<string>): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(everyMs);
  }
  const detail = explain ? await explain().catch((e: Error) => `(could not explain: ${e.message})`) : "";
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for: ${what}${last ? ` (last error: ${(last as Error).message})` : ""}${detail ? `\n${detail}` : ""}`,
  );
}

/** Container IPv4 address on a given network. */
export async function ipOn(containerId: string, network: string): Promise<string> {
  return docker("inspect", "-f", `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, containerId);
}

/** A user-defined network with an explicit subnet (needed to reconnect a container at its old IP). */
export async function createNetwork(prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  for (let attempt = 0; attempt < 10; attempt++) {
    const subnet = `10.213.${Math.floor(Math.random() * 250) + 1}.0/24`;
    const r = await run(["docker", "network", "create", "--subnet", subnet, "--label", "dsef.test=1", name]);
    if (r.code === 0) return name;
    if (!/overlap/i.test(r.err)) throw new Error(`docker network create failed: ${r.err}`);
  }
  throw new Error("no free subnet for the test network");
}

export async function removeQuietly(containers: string[], networks: string[] = []): Promise<void> {
  if (containers.length) await run(["docker", "rm", "-f", "-v", ...containers]);
  for (const n of networks) await run(["docker", "network", "rm", n]);
}

// ---- containers through testcontainers ----

/**
 * A container on exactly one user network, with DNS aliases and a fixed address there.
 * (testcontainers' withNetworkAliases also attaches the default bridge, which would give the
 * node a second address and make a network partition leaky.)
 */
export class NetworkedContainer extends GenericContainer {
  onNetwork(network: string, opts: { ip?: string; aliases?: string[] }): this {
    this.withNetworkMode(network);
    this.createOpts.NetworkingConfig = {
      EndpointsConfig: { [network]: { Aliases: opts.aliases ?? [], ...(opts.ip ? { IPAMConfig: { IPv4Address: opts.ip } } : {}) } },
    };
    return this;
  }
}

export interface EdgeSpec {
  network: string;
  ip?: string;
  aliases?: string[];
  name?: string;
  capacity?: number;
  bootstrap?: string;
  args?: string[];
  env?: Record<string, string>;
}

/** Start one edge node container (a fresh builder per container: they are mutable). */
export async function startEdge(image: string, s: EdgeSpec): Promise<StartedTestContainer> {
  const cmd = ["--promised_capacity", String(s.capacity ?? 1000)];
  if (s.name) cmd.push("--name", s.name);
  if (s.bootstrap) cmd.push("--bootstrap", s.bootstrap);
  return new NetworkedContainer(image)
    .onNetwork(s.network, { ip: s.ip, aliases: s.aliases })
    .withCommand([...cmd, ...(s.args ?? [])])
    .withEnvironment({ DSEF_CLUSTER_KEY: "container-suite-test-key-0123456789abcdef", ...s.env })
    .withLabels({ "dsef.test": "1" })
    .withWaitStrategy(Wait.forLogMessage(/edge node started/))
    .withStartupTimeout(60_000)
    .start();
}

/** The n-th host address of a /24 test network (10.213.X.n). */
export async function subnetHost(network: string, n: number): Promise<string> {
  const subnet = await docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", network);
  return subnet.replace(/\.0\/24$/, `.${n}`);
}

/** A TCP port free on the host right now (for a published port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** `docker compose` (v2) when it exists, else the standalone docker-compose (v1). */
export async function composeCommand(): Promise<string[] | undefined> {
  if ((await run(["docker", "compose", "version"])).code === 0) return ["docker", "compose"];
  return Bun.which("docker-compose") ? ["docker-compose"] : undefined;
}
