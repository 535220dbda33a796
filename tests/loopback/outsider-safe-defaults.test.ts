/**
 * Safe defaults: the published demo key and readable key files are refused at start (one line,
 * exit 2, naming the flag); names and logged strings cannot forge log lines; a browser on
 * another origin can neither post to the node nor read its routes unless the operator says so.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSecuredCluster } from "../support/identity.ts";
import { allocPorts, BUN, type NodeProcess, ROOT, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const KEY = "outsider-safe-defaults-cluster-key-0123456789";
const tmp = mkdtempSync(join(tmpdir(), "dsef-safe-"));

/** Start a node that is expected to refuse to start: its exit code and what it printed. */
async function refusedStart(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const port = allocPorts(1)[0]!;
  const p = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "--port", String(port), "--data-dir", mkdtempSync(join(tmp, "d-")), ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const killer = setTimeout(() => p.kill("SIGKILL"), 10_000);
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(killer);
  return { code, out: (out + err).trim() };
}

describe("refused at start", () => {
  for (const [what, args, env] of [
    ["the compose demo key from the environment", [], { DSEF_CLUSTER_KEY: "dsef-demo-key-INSECURE-set-DSEF_CLUSTER_KEY" }],
    ["the Kubernetes demo key as a flag", ["--cluster-key", "dsef-demo-key-INSECURE-replace-me"], {}],
  ] as const) {
    test(`${what}: exit 2, one line naming --insecure-demo-key`, async () => {
      const r = await refusedStart([...args], { ...env });
      expect(r.code).toBe(2);
      expect(r.out.split("\n")).toHaveLength(1);
      expect(r.out).toContain("--insecure-demo-key");
    });
  }

  test("a demo key in a key file is refused too", async () => {
    const file = join(tmp, "demo.key");
    writeFileSync(file, "dsef-demo-key-INSECURE-replace-me\n", { mode: 0o600 });
    const r = await refusedStart(["--cluster-key-file", file]);
    expect(r.code).toBe(2);
    expect(r.out).toContain("--insecure-demo-key");
  });

  test("a key file others can read: exit 2, one line naming the flag and the fix", async () => {
    const file = join(tmp, "readable.key");
    writeFileSync(file, `${KEY}\n`);
    chmodSync(file, 0o644);
    const r = await refusedStart(["--cluster-key-file", file]);
    expect(r.code).toBe(2);
    expect(r.out.split("\n")).toHaveLength(1);
    expect(r.out).toContain("--cluster-key-file");
    expect(r.out).toContain(`chmod 600 ${file}`);
  });

  test.skipIf(process.getuid?.() === 0)("a key file its group can read (not owned by root) is refused", async () => {
    const file = join(tmp, "group.key");
    writeFileSync(file, `${KEY}\n`);
    chmodSync(file, 0o640);
    const r = await refusedStart(["--cluster-key-file", file]);
    expect(r.code).toBe(2);
  });

  test("a name with a control character: exit 2", async () => {
    const r = await refusedStart(["--name", "edge\n[12:00:00.000] INFO: forged"]);
    expect(r.code).toBe(2);
    expect(r.out).toContain("--name");
  });
});

describe("the demo key, when asked for", () => {
  let node: NodeProcess | undefined;
  afterAll(() => stopAll(node ? [node] : []));

  test("--insecure-demo-key starts, and says so loudly", async () => {
    node = await spawnNode({
      port: allocPorts(1)[0]!,
      args: ["--insecure-demo-key"],
      env: { DSEF_CLUSTER_KEY: "dsef-demo-key-INSECURE-set-DSEF_CLUSTER_KEY" },
    });
    await waitUntil(() => node!.output.some((l) => l.includes("published demo key")), 5000);
    const line = JSON.parse(node.output.find((l) => l.includes("published demo key"))!);
    expect(line.level).toBeGreaterThanOrEqual(40);
    expect((await node.status()).security.mode).toBe("secret");
  });
});

describe("logs cannot be forged through names", () => {
  let node: NodeProcess | undefined;
  afterAll(() => stopAll(node ? [node] : []));

  test("a member named with a newline (open mode /sync) makes one pretty log line, escaped", async () => {
    node = await spawnNode({ port: allocPorts(1)[0]!, args: ["--log-format", "pretty"] });
    const forged = "evil\n[12:00:00.000] INFO: forged line";
    const member = { id: "0123456789abcdef", name: forged, gossip: "127.0.0.9:9", http: "127.0.0.9:9", capacity: 1, state: "alive", incarnation: 1 };
    const res = await fetch(`${node.url}/sync`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ join: false, members: [member] }),
    });
    expect(res.status).toBe(200);
    await waitUntil(() => node!.output.some((l) => l.includes("evil")), 5000);
    expect(node.output.some((l) => l.startsWith("[12:00:00.000] INFO: forged"))).toBe(false);
    expect(node.output.find((l) => l.includes("evil"))).toContain("evil\\n[12:00:00.000]");
  });
});

describe("cross-origin requests", () => {
  let nodes: NodeProcess[] = [];
  beforeAll(async () => {
    nodes = await startSecuredCluster(2, (i) => ({ args: ["--cluster-key", KEY, ...(i === 1 ? ["--cors-origin", "https://ops.example"] : [])] }));
  }, 30_000);
  afterAll(() => stopAll(nodes));

  test("a POST that is not application/json is refused with 415 (a cross-origin form cannot send JSON without a preflight)", async () => {
    for (const path of ["/handle_request", "/packets/ask", "/sync", "/join/hello"]) {
      const res = await fetch(`${nodes[0]!.url}${path}`, { method: "POST", headers: { "content-type": "text/plain" }, body: '{"processing_load": 5}' });
      expect(res.status).toBe(415);
    }
    const before = (await nodes[0]!.status()).load.accepted;
    expect(before).toBe(0);
  });

  test("read routes are not open to any origin: only the cluster's own nodes and configured origins", async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    for (const path of ["/peers", "/stats", "/status", "/events"]) {
      const evil = await fetch(`${a.url}${path}`, { headers: { origin: "http://evil.example" } });
      await evil.body?.cancel();
      expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    }
    // The dashboard of a node that died carries on through another one: that is a member's origin.
    const peer = await fetch(`${a.url}/peers`, { headers: { origin: `http://127.0.0.1:${b.port}` } });
    expect(peer.headers.get("access-control-allow-origin")).toBe(`http://127.0.0.1:${b.port}`);
    const configured = await fetch(`${b.url}/peers`, { headers: { origin: "https://ops.example" } });
    expect(configured.headers.get("access-control-allow-origin")).toBe("https://ops.example");
  });
});
