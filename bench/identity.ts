/**
 * Identity and admission costs. Run: bun bench/identity.ts [--quick] [--micro] [--port-base N]
 * (--micro: parts 1-3 only, no processes)
 *
 *  1. Ed25519 (node identity) and ECDSA P-256 sign / verify per second, native node:crypto;
 *     the `elliptic` figure is quoted from the issue, not run (the package is banned here).
 *  2. Per-datagram AES-256-GCM seal + open (AeadGuard, with its replay window), in µs.
 *  3. Self-claim signing and verification per update (what the edge adds per alive/load).
 *  4. Join handshake latency on loopback against a real seed process (two HTTP round trips,
 *     two signatures and two verifications each side, MACs).
 *  5. Membership with authentication off vs on: 7 real nodes on loopback, CPU per node over
 *     a quiet window, and time for all survivors to see each of 3 kill -9'd nodes dead.
 */
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueCertificate, newAuthority } from "../src/identity/certificate.ts";
import { ClaimGuard, caClaimSigner, signAlive } from "../src/identity/claims.ts";
import type { Credentials } from "../src/identity/handshake.ts";
import { joinVia } from "../src/identity/join-client.ts";
import { Keyring, keyFromSecret } from "../src/identity/keyring.ts";
import { checkLiveness, proveLiveness } from "../src/identity/liveness.ts";
import { generateIdentity } from "../src/identity/node-identity.ts";
import { AeadGuard } from "../src/identity/packet-guard.ts";
import type { NodeInfo } from "../src/membership/types.ts";
import { allocPorts, allSee, type NodeProcess, spawnNode, stopAll, waitUntil } from "../tests/support/processes.ts";

const quick = process.argv.includes("--quick");
/** --port-base N: use ports N, N+1, ... instead of random ones (a shared machine). */
const baseArg = process.argv.indexOf("--port-base");
let nextPort = baseArg > 0 ? Number(process.argv[baseArg + 1]) : 0;
const ports = (n: number): number[] => (nextPort ? Array.from({ length: n }, () => nextPort++) : allocPorts(n));
const SECRET = "benchmark-cluster-secret-000001";

function rate(label: string, n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 500); i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  const perS = n / ((performance.now() - t) / 1000);
  console.log(`  ${label.padEnd(44)} ${Math.round(perS).toLocaleString("en-US").padStart(10)} /s   ${(1e6 / perS).toFixed(2).padStart(8)} µs each`);
  return perS;
}

function signatures(): void {
  console.log("1. signatures (native node:crypto)");
  const msg = Buffer.from(JSON.stringify(["dsef/v1 alive", "0123456789abcdef", 1795000000, "node-1", "10.0.0.1:5000", "10.0.0.1:5000", 1000]));
  const n = quick ? 5_000 : 20_000;
  for (const [name, kind, opts] of [
    ["Ed25519", "ed25519", {}],
    ["ECDSA P-256", "ec", { namedCurve: "P-256" }],
  ] as const) {
    const { privateKey, publicKey } = generateKeyPairSync(kind as "ed25519", opts as object);
    const alg = kind === "ec" ? "sha256" : null;
    const sig = sign(alg, msg, privateKey);
    rate(`${name} sign`, n, () => sign(alg, msg, privateKey));
    rate(`${name} verify`, n, () => verify(alg, msg, publicKey, sig));
  }
  console.log("  elliptic (pure JS, for the record; not run: CVE-2025-14505): ≈ 200 verify/s vs ≈ 20 000 native (issue #2's figure)");
}

function packets(): void {
  console.log("2. datagram seal + open (AES-256-GCM, key id, replay window, bound to the receiver)");
  const ring = new Keyring([keyFromSecret(SECRET)]);
  const a = new AeadGuard(ring);
  const b = new AeadGuard(ring);
  const to = { id: "0123456789abcdef", incarnation: 1_795_000_000 };
  b.bindTo(to.id, to.incarnation);
  for (const size of [64, 400, 1400]) {
    const payload = new Uint8Array(size).fill(7);
    const n = quick ? 20_000 : 100_000;
    rate(`seal+open ${size} B`, n, () => {
      if (typeof b.open(a.seal(payload, to)) === "string") throw new Error("open failed");
    });
  }
  const junk = new Uint8Array(400).fill(1);
  junk[0] = 1;
  rate("reject forged 400 B (known key id, bad tag)", quick ? 20_000 : 100_000, (i) => {
    const s = a.seal(junk, to);
    s[s.byteLength - 1 - (i % 16)]! ^= 1;
    b.open(s);
  });
}

function claims(): void {
  console.log("3. self-claims at the edge");
  const id = generateIdentity();
  const info: NodeInfo = { id: id.id, name: "node-1", gossip: "10.0.0.1:5000", http: "10.0.0.1:5000", capacity: 1000 };
  const g = new ClaimGuard(
    generateIdentity(),
    () => undefined,
    () => {},
  );
  const n = quick ? 5_000 : 20_000;
  rate("sign an alive claim", n, (i) => signAlive(id, i, info));
  const proof = signAlive(id, 1, info);
  const proofs = Array.from({ length: n + 500 }, (_, i) => signAlive(id, i + 2, info));
  let k = 0;
  rate("verify a new alive claim (fingerprint + Ed25519)", n, () => {
    const i = k++;
    g.admitUpdates([{ kind: "alive", incarnation: i + 2, info, proof: proofs[i]! }]);
  });
  rate("re-check a claim seen before (memo)", n * 10, () => g.admitUpdates([{ kind: "alive", incarnation: 1, info, proof }]));
  // One probe: the target signs the prober's nonce in its ack, the prober checks it.
  const nonces = Array.from({ length: n }, () => crypto.getRandomValues(new Uint8Array(16)));
  const lives = nonces.map((x) => proveLiveness(id, x));
  rate("proof of life: sign a nonce (the probed member)", n, (i) => proveLiveness(id, nonces[i]!));
  rate("proof of life: check it (the prober)", n, (i) => checkLiveness(id.publicKeyRaw, id.id, nonces[i]!, lives[i]));
  // CA mode: the claim carries the subject's certificate, a second Ed25519 verification.
  const { authority } = newAuthority();
  const cert = issueCertificate(authority, id.publicKeyRaw, info.name, Date.now() / 1000 + 3600);
  const gc = new ClaimGuard(
    generateIdentity(),
    () => undefined,
    () => {},
    Date.now,
    {
      authority: { key: authority.publicKeyRaw },
      limits: { maxMembers: 1e9, perSync: 1e9, perSecond: 1e9 },
    },
  );
  const sign = caClaimSigner(id, cert);
  const certified = Array.from({ length: n + 500 }, (_, i) => sign(i + 2, info));
  k = 0;
  rate("verify a new alive claim with its certificate", n, () => {
    const i = k++;
    gc.admitUpdates([{ kind: "alive", incarnation: i + 2, info, proof: certified[i]! }]);
  });
}

async function handshake(): Promise<void> {
  console.log("4. join handshake on loopback (real seed process, secret mode)");
  const [port] = ports(1);
  const seed = await spawnNode({ port: port!, args: ["--cluster-key", SECRET, "--log-level", "warn"] });
  try {
    const joiner = generateIdentity();
    const creds: Credentials = { keyring: new Keyring([keyFromSecret(SECRET)]), secret: true, shareKeys: false };
    const info: NodeInfo = { id: joiner.id, name: "bench-joiner", gossip: "127.0.0.1:9", http: "127.0.0.1:9", capacity: 1 };
    const members = () => [{ info, state: "alive" as const, incarnation: 1, proof: signAlive(joiner, 1, info) }];
    const n = quick ? 50 : 300;
    const times: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      const t = performance.now();
      await joinVia(`127.0.0.1:${port}`, joiner, creds, members());
      if (i >= 20) times.push(performance.now() - t);
    }
    times.sort((x, y) => x - y);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(2);
    console.log(`  ${n} handshakes: median ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms (hello + finish, incl. member table)`);
  } finally {
    await stopAll([seed]);
  }
}

const TICK = 100; // /proc stat clock ticks per second on Linux
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / TICK;
}

async function membership(auth: boolean): Promise<{ cpuPct: number; detectMs: number[] }> {
  const n = 7;
  const kills = quick ? 1 : 3;
  const nodePorts = ports(n);
  const args = auth ? ["--cluster-key", SECRET, "--log-level", "warn"] : ["--log-level", "warn"];
  const nodes: NodeProcess[] = [];
  try {
    for (const [i, port] of nodePorts.entries()) {
      nodes.push(
        await spawnNode({
          port,
          dataDir: mkdtempSync(join(tmpdir(), "dsef-bench-")),
          bootstrap: i === 0 ? undefined : `http://127.0.0.1:${nodePorts[0]}`,
          args,
        }),
      );
    }
    await waitUntil(() => allSee(nodes, nodes, "alive"), 20_000);
    await Bun.sleep(2000);
    const windowS = quick ? 5 : 15;
    const c0 = nodes.map((x) => cpuSeconds(x.proc.pid));
    await Bun.sleep(windowS * 1000);
    const c1 = nodes.map((x) => cpuSeconds(x.proc.pid));
    const cpuPct = (100 * c1.reduce((s, c, i) => s + c - c0[i]!, 0)) / n / windowS;
    // kill -9 nodes one at a time; time until every survivor lists the victim dead.
    const detectMs: number[] = [];
    for (let k = 0; k < kills; k++) {
      const victim = nodes[n - 1 - k]!;
      const survivors = nodes.slice(0, n - 1 - k);
      victim.proc.kill("SIGKILL");
      const t = performance.now();
      await waitUntil(() => allSee(survivors, [victim], "dead"), 30_000);
      detectMs.push(performance.now() - t);
      await Bun.sleep(500);
    }
    return { cpuPct, detectMs };
  } finally {
    await stopAll(nodes);
  }
}

signatures();
packets();
claims();
if (process.argv.includes("--micro")) process.exit(0);
await handshake();
console.log("5. membership, 7 nodes on loopback, lan profile (CPU over a quiet window; kill -9 detection)");
for (const auth of [false, true]) {
  const r = await membership(auth);
  const mean = r.detectMs.reduce((a, b) => a + b, 0) / r.detectMs.length;
  console.log(
    `  auth ${auth ? "on: " : "off:"} CPU ${r.cpuPct.toFixed(2)} % per node; kill -9 seen dead by all in ${r.detectMs.map(Math.round).join(", ")} ms (mean ${Math.round(mean)})`,
  );
}
process.exit(0);
