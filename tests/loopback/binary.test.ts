/**
 * The single `dsef` binary as a user gets it: built by scripts/build-binary.ts, copied into an
 * empty directory (no source tree, no node_modules), and run from there as node, ESP simulator,
 * operator CLI and container health check.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary } from "../../scripts/build-binary.ts";
import { allocPorts, type NodeProcess, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const work = mkdtempSync(join(tmpdir(), "dsef-binary-"));
const bin = join(work, "run", "dsef");
const nodes: NodeProcess[] = [];

async function dsef(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([bin, ...args], { cwd: join(work, "run"), stdout: "pipe", stderr: "pipe", env: { ...process.env, DSEF_NODE: "", DSEF_PORT: "" } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

beforeAll(() => {
  const built = buildBinary(join(work, "build", "dsef"));
  expect(built.bytes).toBeGreaterThan(1e6);
  // "Copy one file": the run directory holds the binary and nothing else from the project...
  const run = join(work, "run");
  Bun.spawnSync(["mkdir", "-p", run]);
  copyFileSync(built.outfile, bin);
  Bun.spawnSync(["chmod", "+x", bin]);
  // ...except a stray .env, which a deployed binary must ignore (it is not read at startup).
  writeFileSync(join(run, ".env"), "DSEF_NAME=from-dotenv\nDSEF_LOG_LEVEL=trace\n");
}, 60_000);

afterAll(async () => {
  await stopAll(nodes);
  rmSync(work, { recursive: true, force: true });
});

describe("dsef binary", () => {
  test("--help lists every command; --version names the build; unknown commands exit 2", async () => {
    const help = await dsef("--help");
    expect(help.code).toBe(0);
    for (const c of ["node", "esp", "members", "status", "ca", "health", "reload"]) expect(help.out).toMatch(new RegExp(`^  dsef ${c} `, "m"));
    const version = await dsef("--version");
    expect(version.code).toBe(0);
    expect(version.out).toMatch(/^dsef \d+\.\d+\.\d+ \(bun \d+\.\d+\.\d+\)$/m);
    expect((await dsef("frobnicate")).code).toBe(2);
    expect((await dsef("node", "--no-such-flag")).code).toBe(2);
  }, 30_000);

  test("runs a node (flags first = dsef node): /health, /ready, the dashboard page and its script; health check; esp; SIGTERM leaves", async () => {
    const [a, b] = allocPorts(2) as [number, number];
    const run = join(work, "run");
    // The image's way: the first argument is a flag.
    const first = await spawnNode({ port: a, command: [bin], cwd: run });
    nodes.push(first);
    const second = await spawnNode({ port: b, command: [bin, "node"], cwd: run, bootstrap: first.url });
    nodes.push(second);

    expect((await fetch(`${first.url}/health`)).status).toBe(200);
    await waitUntil(async () => (await fetch(`${second.url}/ready`)).status === 200, 15_000);
    expect((await first.status()).name).toBe(`127.0.0.1:${a}`); // not the .env's name

    // The dashboard is bundled into the binary: the page and the script it loads.
    const page = await (await fetch(`${first.url}/`)).text();
    const script = /<script[^>]+src="\.?\/?([^"]+\.js)"/.exec(page)?.[1];
    expect(script, page.slice(0, 500)).toBeDefined();
    const js = await fetch(`${first.url}/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await js.text()).length).toBeGreaterThan(1000);

    // The container health check.
    expect((await dsef("health", first.url)).code).toBe(0);
    expect((await dsef("health", "--ready", `127.0.0.1:${b}`)).code).toBe(0);
    const [free] = allocPorts(1);
    const down = await dsef("health", `http://127.0.0.1:${free}`);
    expect(down.code).toBe(1);
    expect(down.err).toContain("unhealthy");
    const members = await dsef("members", "--node", first.url, "--json");
    expect(JSON.parse(members.out).filter((p: { state: string }) => p.state === "alive")).toHaveLength(2);

    // The ESP simulator from the same file.
    const esp = await dsef("esp", "--bootstrap", `${first.url},${second.url}`, "--devices", "4", "--interval", "0.2", "--duration", "2", "--seed", "7");
    expect(esp.code, esp.out + esp.err).toBe(0);
    expect(esp.out).toMatch(/lost 0\b/);
    const accepted = (await first.status()).load.accepted + (await second.status()).load.accepted;
    expect(accepted).toBeGreaterThan(0);

    // dsef reload: SIGHUP to a node (refused for a process that is not one).
    const notANode = await dsef("reload", "--pid", String(process.pid));
    expect(notANode.code).toBe(1);
    expect(notANode.err).toContain("not a D-SEF node");
    expect((await dsef("reload", "--pid", String(first.proc.pid))).code).toBe(0);
    await waitUntil(() => first.output.some((l) => l.includes("no --cluster-key-file to reload") || l.includes("open mode has no keys to reload")), 5_000);

    // SIGTERM: a graceful leave, exit code 0, and the other node sees it left.
    second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(second.output.join("\n")).toContain("leaving the cluster");
    await waitUntil(async () => (await first.peers()).some((p) => p.port === b && p.state === "left"), 10_000);
  }, 60_000);

  test("a node runs lean (no optimizing JIT) in its own process, unless --jit full or --handler", async () => {
    const [a, b, c] = allocPorts(3) as [number, number, number];
    const run = join(work, "run");
    const jitEnv = (n: NodeProcess) => /(?:^|\0)BUN_JSC_useDFGJIT=([^\0]*)/.exec(readFileSync(`/proc/${n.proc.pid}/environ`, "utf8"))?.[1];
    const lean = await spawnNode({ port: a, command: [bin, "node"], cwd: run });
    const full = await spawnNode({ port: b, command: [bin, "node"], cwd: run, args: ["--jit", "full"] });
    const handler = join(run, "handler.ts");
    writeFileSync(handler, "export function handle(p: { packet_id: string }) { return { ok: p.packet_id }; }\n");
    const withHandler = await spawnNode({ port: c, command: [bin, "node"], cwd: run, args: ["--handler", handler] });
    nodes.push(lean, full, withHandler);
    // Re-executed in place: the process we started is the node, now with the option set.
    expect(jitEnv(lean)).toBe("0");
    expect((await fetch(`${lean.url}/health`)).status).toBe(200);
    expect(jitEnv(full)).toBeUndefined();
    expect(jitEnv(withHandler)).toBeUndefined();
    const r = await fetch(`${withHandler.url}/handle_request`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ processing_load: 0.01, packet_id: "jit-1", wait: true }),
    });
    expect(((await r.json()) as { result?: unknown }).result).toEqual({ ok: "jit-1" });
    const wrong = await dsef("node", "--port", String(allocPorts(1)[0]), "--jit", "fast");
    expect([wrong.code, wrong.err]).toEqual([2, expect.stringContaining("--jit")]);
  }, 60_000);
});
