/**
 * Real edge-node processes on loopback for tests and benchmarks: spawn, wait, kill, inspect.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { PeerView } from "../../src/http/peer-view.ts";

export const ROOT = join(import.meta.dir, "..", "..");
export const BUN = process.execPath;

/** A row of /peers. */
export type PeerRow = PeerView;

export interface NodeProcess {
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  proc: Subprocess;
  /** Everything the node printed (JSON log lines). */
  readonly output: string[];
  peers(): Promise<PeerRow[]>;
  status(): Promise<Record<string, any>>;
  kill(signal?: NodeJS.Signals | number): void;
  /** Start again with the same flags and data dir (same identity). */
  restart(): Promise<void>;
  exited: Promise<number>;
}

/**
 * Ports for test nodes (HTTP and UDP share the number), handed out upwards from a random start so
 * files run one after another, or two test runs at once, rarely meet. By default they stay below
 * Linux's ephemeral range (32768+), where outgoing connections could already hold a port;
 * DSEF_TEST_PORTS=LOW-HIGH confines them to a range (a shared machine, a firewall).
 */
export function testPortRange(env: Record<string, string | undefined> = process.env): { low: number; high: number } {
  const raw = env.DSEF_TEST_PORTS;
  if (!raw) return { low: 20_000, high: 29_999 };
  const m = /^(\d+)-(\d+)$/.exec(raw.trim());
  const [low, high] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || low < 1024 || high > 65_535 || high - low < 99) throw new Error(`DSEF_TEST_PORTS must be LOW-HIGH within 1024-65535, at least 100 ports: "${raw}"`);
  return { low, high };
}
const range = testPortRange();
let nextPort = range.low + Math.floor(Math.random() * (range.high - range.low + 1));

/** Every process a test started, killed when the test runner exits, whatever happened. */
const spawned = new Set<Subprocess>();
process.on("exit", () => {
  for (const p of spawned) p.kill("SIGKILL");
});
export function allocPorts(n: number): number[] {
  if (nextPort + n > range.high) nextPort = range.low; // wrap around within the range
  const ports = Array.from({ length: n }, (_, i) => nextPort + i);
  nextPort += n + 1;
  return ports;
}

export interface SpawnOptions {
  port: number;
  capacity?: number;
  bootstrap?: string;
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** The node's --api-token, for the helpers' reads of /peers and /status. */
  apiToken?: string;
  /** The node serves https (--tls-cert): the helpers verify it against this CA (PEM). */
  tlsCa?: string;
  /** What runs the node (default: bun src/main.ts); e.g. [binary, "node"] for the compiled dsef. */
  command?: string[];
  cwd?: string;
}

export async function spawnNode(o: SpawnOptions): Promise<NodeProcess> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), `dsef-${o.port}-`));
  const argv = [
    ...(o.command ?? [BUN, join(ROOT, "src/main.ts")]),
    "--ip",
    "127.0.0.1",
    "--port",
    String(o.port),
    "--promised_capacity",
    String(o.capacity ?? 1000),
    "--data-dir",
    dataDir,
    "--log-format",
    "json",
    ...(o.bootstrap ? ["--bootstrap", o.bootstrap] : []),
    ...(o.args ?? []),
  ];
  const output: string[] = [];
  const url = `${o.tlsCa ? "https" : "http"}://127.0.0.1:${o.port}`;
  const tls = o.tlsCa ? { tls: { ca: o.tlsCa } } : {};
  const auth: Record<string, string> = o.apiToken ? { authorization: `Bearer ${o.apiToken}` } : {};
  const launch = () => {
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", cwd: o.cwd, env: { ...process.env, ...o.env } });
    spawned.add(proc);
    void proc.exited.then(() => spawned.delete(proc));
    for (const stream of [proc.stdout, proc.stderr]) {
      void (async () => {
        // Lines, not chunks: a pipe read may end mid-line, and a log line cut in two is lost to the tests that count them.
        const dec = new TextDecoder();
        let partial = "";
        for await (const chunk of stream as ReadableStream<Uint8Array>) {
          const lines = (partial + dec.decode(chunk, { stream: true })).split("\n");
          partial = lines.pop()!;
          output.push(...lines.filter(Boolean));
        }
        if (partial) output.push(partial);
      })();
    }
    return proc;
  };
  const node: NodeProcess = {
    port: o.port,
    url,
    dataDir,
    output,
    proc: launch(),
    get exited() {
      return this.proc.exited;
    },
    peers: async () => (await fetch(`${url}/peers`, { signal: AbortSignal.timeout(2000), headers: auth, ...tls })).json() as Promise<PeerRow[]>,
    status: async () => (await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000), headers: auth, ...tls })).json() as Promise<Record<string, any>>,
    kill(signal = "SIGKILL") {
      this.proc.kill(signal);
    },
    async restart() {
      this.proc = launch();
      await waitUntil(async () => (await fetch(`${url}/health`, tls)).ok, 10_000);
    },
  };
  await waitUntil(
    async () => (await fetch(`${url}/health`, tls)).ok,
    10_000,
    () => `node ${o.port} did not start:\n${output.join("\n")}`,
  );
  return node;
}

/** Poll `cond` every 50 ms until it holds; errors inside count as "not yet". */
export async function waitUntil(cond: () => Promise<boolean> | boolean, timeoutMs: number, describe?: () => string): Promise<number> {
  const start = performance.now();
  for (;;) {
    try {
      if (await cond()) return performance.now() - start;
    } catch {
      // not up yet
    }
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms${describe ? `: ${describe()}` : ""}`);
    await Bun.sleep(50);
  }
}

/** Start a cluster on loopback: the first node, then the rest bootstrapping from it. */
export async function startCluster(n: number, opts: { capacities?: number[]; args?: string[]; env?: Record<string, string> } = {}): Promise<NodeProcess[]> {
  const ports = allocPorts(n);
  const nodes: NodeProcess[] = [];
  try {
    for (const [i, port] of ports.entries()) {
      nodes.push(
        await spawnNode({
          port,
          capacity: opts.capacities?.[i] ?? 1000,
          bootstrap: i === 0 ? undefined : `http://127.0.0.1:${ports[0]}`,
          args: opts.args,
          env: opts.env,
        }),
      );
    }
    await waitUntil(() => allSee(nodes, nodes, "alive"), 30_000);
  } catch (e) {
    const views = await Promise.all(nodes.map(async (v) => `${v.port}: ${(await v.peers().catch(() => [])).map((p) => `${p.port}=${p.state}`).join(" ")}`));
    await stopAll(nodes);
    throw new Error(`cluster of ${n} did not converge (${(e as Error).message}); views:\n${views.join("\n")}`);
  }
  return nodes;
}

/** Does every observer list every one of `targets` in `state`? */
export async function allSee(observers: NodeProcess[], targets: NodeProcess[], state: PeerRow["state"]): Promise<boolean> {
  const views = await Promise.all(observers.map((o) => o.peers()));
  return views.every((v) => targets.every((t) => v.some((p) => p.port === t.port && p.state === state)));
}

export async function stopAll(nodes: NodeProcess[]): Promise<void> {
  for (const n of nodes) n.proc.kill("SIGKILL");
  await Promise.all(nodes.map((n) => n.proc.exited));
}

/** How many times each packet id was taken, over the nodes' logs (needs --log-level debug). */
export function acceptedPacketCounts(nodes: NodeProcess[]): Map<string, number> {
  const taken = new Map<string, number>();
  for (const n of nodes)
    for (const line of n.output) {
      if (!line.includes('"packet accepted"')) continue;
      const id = JSON.parse(line).packet_id as string;
      taken.set(id, (taken.get(id) ?? 0) + 1);
    }
  return taken;
}
