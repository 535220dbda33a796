/**
 * The node's command line as a new user meets it, on real processes: credential mistakes are one
 * line naming the flag (exit 2), the identity does not depend on the working directory, pretty
 * logs name the node that logs, and SIGTERM ends the process right after it has left.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KEY_FILE } from "../../src/identity/node-identity.ts";
import { makeCa } from "../support/identity.ts";
import { allocPorts, BUN, type NodeProcess, ROOT, spawnNode, startCluster, stopAll, waitUntil } from "../support/processes.ts";

const started: NodeProcess[] = [];
afterAll(() => stopAll(started));

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `dsef-${prefix}-`));
const LEAVE_GRACE_MS = 500; // the default
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const stripAnsi = (s: string) => s.replace(ANSI, "");

describe("credential and data-dir mistakes: one line naming the flag, exit code 2", () => {
  const ca = makeCa();
  const notPem = join(tmp("notpem"), "ca.pub");
  writeFileSync(notPem, "hello\n");
  const emptyKeys = join(tmp("keys"), "keys");
  writeFileSync(emptyKeys, "# no keys yet\n", { mode: 0o600 }); // a secret file others can read is refused first
  const blocked = join(tmp("blocked"), "file");
  writeFileSync(blocked, "");
  const cases: [string[], string, RegExp][] = [
    [["--cluster-key-file", "/no/such/keys"], "--cluster-key-file", /cannot read \/no\/such\/keys: no such file or directory/],
    [["--cluster-key-file", emptyKeys], "--cluster-key-file", /holds no cluster key/],
    [["--cluster-key", "k", "--cluster-key-file", emptyKeys], "--cluster-key-file", /give either it or --cluster-key, not both/],
    [["--ca-pubkey", "/no/such/ca.pub"], "--ca-pubkey", /no such file or directory/],
    [["--ca-pubkey", notPem], "--ca-pubkey", /not a PEM public key/],
    [["--ca-pubkey", ca.pubFile], "--cert", /no node certificate at .*dsef ca issue/],
    [["--ca-pubkey", ca.pubFile, "--cert", notPem], "--cert", /is not a certificate/],
    // A data dir below a plain file cannot be created.
    [["--data-dir", join(blocked, "sub")], "--data-dir", /cannot use .*: a part of the path is not a directory/],
  ];

  for (const [entry, how] of [
    ["src/main.ts", []],
    ["src/cli/dsef.ts", ["node"]],
  ] as const) {
    test(`${[entry, ...how].join(" ")}`, async () => {
      const [port] = allocPorts(1);
      for (const [args, flag, reason] of cases) {
        const dataDir = args.includes("--data-dir") ? [] : ["--data-dir", tmp("cred")];
        const p = Bun.spawnSync([BUN, join(ROOT, entry), ...how, "--port", String(port), ...dataDir, ...args], { stderr: "pipe", stdout: "pipe" });
        const err = p.stderr.toString().trim();
        expect({ args, code: p.exitCode }).toEqual({ args, code: 2 });
        expect(err.split("\n")).toHaveLength(1);
        expect(err).toStartWith(`dsef: ${flag}`);
        expect(err).toMatch(reason);
        expect(err).not.toMatch(/ENOENT|ENOTDIR|"level"/);
      }
    }, 60_000);
  }
});

test("without --data-dir the identity lives in the per-user state dir: a restart from another directory keeps it", async () => {
  const [port] = allocPorts(1);
  const state = tmp("state");
  const env = { ...process.env, XDG_STATE_HOME: state, DSEF_DATA_DIR: "" };
  const idFrom = async (cwd: string): Promise<string> => {
    mkdirSync(cwd, { recursive: true });
    const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "--port", String(port), "--log-format", "json"], { cwd, env, stdout: "ignore", stderr: "ignore" });
    try {
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 10_000);
      return ((await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { id: string }).id;
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  };
  const work = tmp("cwd");
  const first = await idFrom(join(work, "a"));
  const second = await idFrom(join(work, "b"));
  expect(second).toBe(first);
  expect(existsSync(join(state, "dsef", String(port), KEY_FILE))).toBe(true);
  expect(existsSync(join(work, "a", ".dsef"))).toBe(false);
}, 40_000);

describe("a node with pretty logs in a cluster", () => {
  let nodes: NodeProcess[] = [];

  test("its lines carry its own name in the logger's place, and a member's name as member_name", async () => {
    nodes = await startCluster(1);
    started.push(...nodes);
    const [port] = allocPorts(1);
    const pretty = await spawnNode({ port: port!, bootstrap: nodes[0]!.url, args: ["--log-format", "pretty", "--name", "edge-pretty"] });
    nodes.push(pretty);
    started.push(pretty);
    const seedName = `127.0.0.1:${nodes[0]!.port}`;
    await waitUntil(() => pretty.output.some((l) => stripAnsi(l).includes(`member joined: ${seedName}`)), 10_000);
    const lines = pretty.output.map(stripAnsi);
    const joined = lines.find((l) => l.includes(`member joined: ${seedName}`))!;
    expect(joined).toMatch(/INFO \(edge-pretty\): member joined/);
    expect(lines.some((l) => l.includes(`member_name: "${seedName}"`))).toBe(true);
    // Every headline names this node, none another.
    const headlines = lines.filter((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] \w+/.test(l));
    expect(headlines.length).toBeGreaterThan(2);
    for (const h of headlines) expect(h).toContain("(edge-pretty)");
  }, 30_000);

  for (const which of ["json", "pretty"] as const) {
    test(`SIGTERM (${which} logs, a dashboard stream open): exits 0 by itself within the leave grace + 1 s`, async () => {
      const victim = which === "json" ? nodes[0]! : nodes[1]!;
      const events = await fetch(`${victim.url}/events`);
      expect(events.ok).toBe(true);
      const t0 = performance.now();
      victim.kill("SIGTERM");
      const code = await victim.exited;
      const tookMs = performance.now() - t0;
      console.log(`SIGTERM -> exit (${which}): ${tookMs.toFixed(0)} ms`);
      expect(code).toBe(0);
      expect(tookMs).toBeLessThan(LEAVE_GRACE_MS + 1000);
      const text = victim.output.map(stripAnsi).join("\n");
      expect(text).toContain("stopped");
      // The backstop exit did not have to fire: nothing held the event loop.
      expect(text).not.toContain("exiting anyway");
      await events.body?.cancel().catch(() => {});
    }, 20_000);
  }
});
