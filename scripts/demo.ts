#!/usr/bin/env bun
/**
 * Local demo on loopback: three edge nodes with the seed's capacities (1000, 800, 500) and the ESP
 * simulator's devices sending to them, so the dashboard shows load moving and, when a node is
 * killed, its devices failing over. The screen keeps the banner and one line per membership event
 * (--verbose: every node's full log). Enter restarts stopped nodes; Ctrl-C stops everything.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Subprocess } from "bun";
import { demoLine, newDemoView } from "./demo-view.ts";

const root = join(import.meta.dir, "..");
const usage = "usage: npm run demo -- [--port BASE (5000)] [--devices N (20, 0 = none)] [--data-dir DIR (.dsef in the checkout)] [--verbose]";
let args: { port: number; devices: number; dataDir: string; verbose: boolean };
try {
  const { values } = parseArgs({
    options: { port: { type: "string" }, devices: { type: "string" }, "data-dir": { type: "string" }, verbose: { type: "boolean" }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  // Kept with the checkout by default, so a restart (Enter, or the next demo) keeps the nodes' identities.
  const dataDir = resolve(values["data-dir"] ?? join(root, ".dsef"));
  args = { port: Number(values.port ?? 5000), devices: Number(values.devices ?? 20), dataDir, verbose: values.verbose === true };
  if (!Number.isInteger(args.port) || args.port < 1 || args.port > 65533) throw new Error(`--port: not a port: ${values.port}`);
  if (!Number.isInteger(args.devices) || args.devices < 0 || args.devices > 10_000) throw new Error(`--devices: not a count in 0..10000: ${values.devices}`);
} catch (e) {
  console.error(`demo: ${(e as Error).message.split("\n")[0]}\n${usage}`);
  process.exit(2);
}

const url = (port: number) => `http://127.0.0.1:${port}`;
const nodes = [
  { name: "edge-a", port: args.port, capacity: 1000 },
  { name: "edge-b", port: args.port + 1, capacity: 800 },
  { name: "edge-c", port: args.port + 2, capacity: 500 },
].map((n, i) => ({ ...n, bootstrap: i === 0 ? undefined : url(args.port), proc: undefined as Subprocess | undefined }));
const view = newDemoView();
let stopping = false;
/** Lines held back until the banner is out, so they follow it. */
let held: string[] | undefined = [];
const show = (line: string) => (held ? held.push(line) : console.log(line));

/** Print each line of a child's output through `show` (which may drop it). */
async function eachLine(stream: ReadableStream<Uint8Array>, show: (line: string) => void): Promise<void> {
  const dec = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    const lines = (rest + dec.decode(chunk, { stream: true })).split("\n");
    rest = lines.pop()!;
    for (const l of lines) show(l);
  }
  if (rest) show(rest);
}

function start(n: (typeof nodes)[number]): void {
  const argv = [
    process.execPath,
    join(root, "src/main.ts"),
    "--ip",
    "127.0.0.1",
    "--port",
    String(n.port),
    "--name",
    n.name,
    "--promised_capacity",
    String(n.capacity),
    "--data-dir",
    join(args.dataDir, String(n.port)),
    "--log-format",
    args.verbose ? "pretty" : "json",
    ...(n.bootstrap ? ["--bootstrap", n.bootstrap] : []),
  ];
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: args.verbose ? "inherit" : "pipe", stderr: "inherit" });
  n.proc = proc;
  if (!args.verbose)
    void eachLine(proc.stdout as ReadableStream<Uint8Array>, (l) => {
      const line = demoLine(view, l, Date.now());
      if (line !== undefined) show(line);
    });
  void proc.exited.then((code) => {
    if (stopping) return;
    const how = proc.signalCode ? `was stopped by ${proc.signalCode}` : `exited with code ${code}`;
    console.log(`${n.name} (pid ${proc.pid}) ${how}; press Enter to start it again with the same identity`);
  });
}

async function ready(n: (typeof nodes)[number], timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if (n.proc?.exitCode !== null) return false;
    const ok = await fetch(`${url(n.port)}/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return true;
    await Bun.sleep(100);
  }
  return false;
}

for (const n of nodes) start(n);
for (const n of nodes) {
  if (await ready(n, 15_000)) continue;
  console.error(`demo: ${n.name} is not ready on ${url(n.port)} (port in use? try: npm run demo -- --port 6000)`);
  for (const m of nodes) m.proc?.kill("SIGTERM");
  process.exit(1);
}

let esp: Subprocess | undefined;
const espOutput: string[] = [];
if (args.devices > 0) {
  esp = Bun.spawn(
    [
      process.execPath,
      join(root, "esp/simulator.ts"),
      "--bootstrap",
      nodes.map((n) => url(n.port)).join(","),
      "--devices",
      String(args.devices),
      "--interval",
      "1",
      "--min-load",
      "10",
      "--max-load",
      "100",
    ],
    { stdin: "ignore", stdout: "pipe", stderr: "inherit" },
  );
  // Its progress lines would push the banner away; its summary is shown when the demo stops.
  void eachLine(esp.stdout as ReadableStream<Uint8Array>, (l) => void (stopping ? console.log(l) : espOutput.push(l)));
}

const [a, b, c] = nodes as [(typeof nodes)[number], (typeof nodes)[number], (typeof nodes)[number]];
console.log(`
D-SEF demo: 3 edge nodes on 127.0.0.1 (capacities 1000, 800, 500)${esp ? `, ${args.devices} simulated ESP devices sending ~${args.devices * 55} units/s` : ""}
  dashboard   ${url(a.port)}/   (every node serves it: ${url(b.port)}/, ${url(c.port)}/)
  members     curl -s ${url(a.port)}/peers    or    npx dsef members --node ${url(a.port)}
  status      npx dsef status --node ${url(b.port)}
  metrics     curl -s ${url(a.port)}/metrics

Try, with the dashboard open:
  kill -9 ${c.proc!.pid}     crash ${c.name}: suspect, then dead within seconds; its devices fail over to the others
  kill ${b.proc!.pid}        ${b.name} leaves gracefully: shown as left, not dead
  Enter             start stopped nodes again (same identity: they rejoin)
  Ctrl-C            stop everything (nodes leave; the devices print their summary)
Membership events, one line each (every log line: npm run demo -- --verbose):
`);
for (const line of held) console.log(line);
held = undefined;

function restartStopped(): void {
  for (const n of nodes) {
    if (n.proc?.exitCode === null && n.proc.signalCode === null) continue;
    console.log(`starting ${n.name} again`);
    start(n);
  }
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping: the devices finish, the nodes leave the cluster");
  esp?.kill("SIGTERM");
  await esp?.exited;
  for (const n of nodes) n.proc?.kill("SIGTERM");
  await Promise.all(nodes.map((n) => n.proc?.exited));
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
// If the demo itself dies, take its children with it.
process.on("exit", () => {
  esp?.kill("SIGKILL");
  for (const n of nodes) n.proc?.kill("SIGKILL");
});

if (process.stdin.isTTY) for await (const _ of console) if (!stopping) restartStopped();
