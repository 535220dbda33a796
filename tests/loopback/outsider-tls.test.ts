/**
 * TLS end to end on loopback: `dsef ca init` / `dsef ca issue --tls` make the certificates; a
 * secured cluster serves https only and talks https between its nodes (joins, syncs, forwards,
 * /stats), verified against --tls-ca; signed ESP devices over https lose nothing; a node whose
 * certificate comes from another authority never gets in; plain http gets nowhere.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSecuredCluster } from "../support/identity.ts";
import { allocPorts, BUN, type NodeProcess, ROOT, stopAll } from "../support/processes.ts";
import { testAuthority } from "../support/tls.ts";

const KEY = "outsider-tls-cluster-key-0123456789";
const MASTER = "outsider-tls-device-master-0123456789";
const tmp = mkdtempSync(join(tmpdir(), "dsef-tls-"));
const dsef = (...args: string[]) => Bun.spawnSync([BUN, join(ROOT, "src/cli/dsef.ts"), ...args], { stderr: "pipe" });
let nodes: NodeProcess[] = [];
let caCert = "";
let caDir = "";

/** A node data dir with a TLS certificate for 127.0.0.1 from the CA in `caDir`. */
function tlsDir(caDir: string, name: string): string {
  const dir = mkdtempSync(join(tmp, `${name}-`));
  const p = dsef("ca", "issue", "--tls", "--ca-key", join(caDir, "ca.key"), "--data-dir", dir, "--ip", "127.0.0.1", "--name", name);
  if (p.exitCode !== 0) throw new Error(p.stderr.toString());
  return dir;
}
const tlsArgs = (dir: string, caDir: string) => ["--tls-cert", join(dir, "tls.crt"), "--tls-key", join(dir, "tls.key"), "--tls-ca", join(caDir, "tls-ca.crt")];

beforeAll(async () => {
  // The process-wide test authority (see support/tls.ts), as `dsef ca init` makes it.
  const ca = testAuthority();
  caDir = ca.dir;
  caCert = ca.caPem;
  const masterFile = join(tmp, "device.key");
  writeFileSync(masterFile, MASTER, { mode: 0o600 });
  nodes = await startSecuredCluster(
    3,
    (i) => {
      const dir = tlsDir(caDir, `edge${i}`);
      return {
        dataDir: dir,
        args: ["--cluster-key", KEY, "--device-key-file", masterFile, ...tlsArgs(dir, caDir), "--promised_capacity", i === 0 ? "2000" : "20000"],
      };
    },
    { tlsCa: caCert },
  );
}, 60_000);
afterAll(() => stopAll(nodes));

describe("TLS", () => {
  test("dsef ca issue --tls writes a key only its owner can read", () => {
    const dir = tlsDir(caDir, "check");
    expect(statSync(join(dir, "tls.key")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "tls.crt"), "utf8")).toContain("BEGIN CERTIFICATE");
  });

  test("the cluster formed over https: joins, syncs and gossip keys all went through", async () => {
    for (const n of nodes) {
      expect(n.url).toStartWith("https://");
      expect((await n.peers()).filter((p) => p.state === "alive")).toHaveLength(3);
    }
  });

  test("plain http to a TLS node gets no answer", async () => {
    const res = await fetch(`http://127.0.0.1:${nodes[0]!.port}/health`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status,
      () => "no answer",
    );
    expect(res).not.toBe(200);
  });

  test("signed ESP devices over https: 0 lost; forwards between nodes over https", async () => {
    const report = join(tmp, "esp.json");
    const sim = Bun.spawn(
      [
        BUN,
        join(ROOT, "esp/simulator.ts"),
        "--bootstrap",
        nodes.map((n) => n.url).join(","),
        "--tls-ca",
        join(caDir, "tls-ca.crt"),
        "--devices",
        "30",
        "--interval",
        "0.2",
        "--duration",
        "6",
        "--min-load",
        "10",
        "--max-load",
        "100",
        "--drain-s",
        "10",
        "--report-json",
        report,
      ],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, DSEF_DEVICE_KEY: MASTER } },
    );
    const [out, code] = await Promise.all([new Response(sim.stdout).text(), sim.exited]);
    const r = JSON.parse(readFileSync(report, "utf8"));
    console.log(`devices over https: sent ${r.sent}, lost ${r.lost}, p50 ${r.latency_ms.p50} ms`);
    if (code !== 0) console.log(out.slice(-2000));
    expect(code).toBe(0);
    expect(r.sent).toBeGreaterThan(500);
    // The small node hands work to the big ones: node-to-node https with node authentication.
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => fetchSigned(nodes[0]!, i)));
    // Every accepted packet was handed to a backup: POST /packets/replica over https, node-authenticated.
    const all = await Promise.all(nodes.map((n) => n.status()));
    const seen = {
      statuses: [...new Set(statuses)],
      forwarded: all[0]!.load.forwarded > 0,
      batchesReceived: all.reduce((a, s) => a + s.load.batches_received, 0) > 0,
      batchesRefused: all.reduce((a, s) => a + s.load.batches_refused, 0),
      nodeRequestsRefused: all.map((s) => s.security.node_requests.refused),
    };
    // One comparison, so a failure shows every figure at once.
    expect(seen).toEqual({
      ...seen,
      statuses: [200],
      forwarded: true,
      batchesReceived: true,
      batchesRefused: 0,
      nodeRequestsRefused: all.map(() => expect.objectContaining({ total: 0 })),
    });
  }, 60_000);

  test("a node with a certificate from another authority never gets in", async () => {
    const otherCa = join(tmp, "other-ca");
    expect(dsef("ca", "init", "--dir", otherCa).exitCode).toBe(0);
    const dir = tlsDir(otherCa, "stranger");
    // It holds the cluster key: only TLS can keep it out. (Started by hand: this test process
    // already trusts the cluster's CA, and Bun keeps the first CA a process used.)
    const port = allocPorts(1)[0]!;
    const p = Bun.spawn(
      [
        BUN,
        join(ROOT, "src/main.ts"),
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--data-dir",
        dir,
        "--log-format",
        "json",
        "--bootstrap",
        nodes[0]!.url,
        "--cluster-key",
        KEY,
        ...tlsArgs(dir, otherCa),
      ],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    await Bun.sleep(5000);
    p.kill("SIGKILL");
    const out = await new Response(p.stdout).text();
    expect(out).toContain("unable to verify");
    for (const n of nodes) expect((await n.peers()).some((x) => x.port === port)).toBe(false);
  }, 30_000);
});

describe("TLS in containers: one certificate for every node", () => {
  const shared = () => {
    const dir = mkdtempSync(join(tmp, "shared-"));
    const p = dsef("ca", "issue", "--tls", "--ca-key", join(caDir, "ca.key"), "--data-dir", dir, "--dns", "edge.example", "--name", "edge");
    if (p.exitCode !== 0) throw new Error(p.stderr.toString());
    return dir;
  };
  const start = (port: number, cert: string, extra: string[]) =>
    Bun.spawn(
      [
        BUN,
        join(ROOT, "src/main.ts"),
        "--ip",
        "127.0.0.1",
        "--port",
        String(port),
        "--data-dir",
        mkdtempSync(join(tmp, "d-")),
        "--log-format",
        "json",
        "--cluster-key",
        KEY,
        ...tlsArgs(cert, caDir),
        ...extra,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );

  test("a certificate that does not name --ip is refused at start (exit 2, naming the flag)", async () => {
    const p = start(allocPorts(1)[0]!, shared(), []);
    expect(await p.exited).toBe(2);
    expect(await new Response(p.stderr).text()).toContain("--tls-cert");
  });

  test("with --tls-any-node-name, nodes sharing it form a cluster (the chain is still checked)", async () => {
    const cert = shared();
    const [a, b] = allocPorts(2) as [number, number];
    const pa = start(a, cert, ["--tls-any-node-name"]);
    const pb = start(b, cert, ["--tls-any-node-name", "--bootstrap", `127.0.0.1:${a}`]);
    try {
      const out = new Response(pb.stdout).text();
      await Bun.sleep(4000);
      pb.kill("SIGKILL");
      expect(await out).toContain("member joined");
    } finally {
      pa.kill("SIGKILL");
      pb.kill("SIGKILL");
    }
  }, 20_000);
});

/** A heavy signed packet to `n` (so it forwards), each from its own device (one device sending 30 at once is paced). */
async function fetchSigned(n: NodeProcess, i: number): Promise<number> {
  const { deviceKeyFor, signPacket, DEVICE_AUTH_HEADER } = await import("../../src/identity/device-auth.ts");
  const device = `tls-dev-${i}`;
  const body = JSON.stringify({ processing_load: 500, packet_id: `tls-fwd-${i}`, device_id: device });
  const res = await fetch(`${n.url}/handle_request`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      [DEVICE_AUTH_HEADER]: signPacket(deviceKeyFor(MASTER, device), `tls-fwd-${i}`, device, body, Date.now(), `127.0.0.1:${n.port}`),
    },
    body,
    tls: { ca: caCert },
  });
  return res.status;
}
