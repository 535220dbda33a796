#!/usr/bin/env bun
/**
 * Local demo cluster on loopback: three edge nodes with the seed's capacities (1000, 800, 500).
 * Ctrl-C stops them gracefully (they leave the cluster).
 */
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const nodes = [
  { port: 5000, capacity: 1000 },
  { port: 5001, capacity: 800, bootstrap: "http://127.0.0.1:5000" },
  { port: 5002, capacity: 500, bootstrap: "http://127.0.0.1:5000" },
];

const procs = nodes.map((n) =>
  Bun.spawn(
    [
      process.execPath,
      join(root, "src/main.ts"),
      "--ip",
      "127.0.0.1",
      "--port",
      String(n.port),
      "--promised_capacity",
      String(n.capacity),
      "--data-dir",
      join(root, ".dsef", String(n.port)),
      "--log-format",
      "pretty",
      ...(n.bootstrap ? ["--bootstrap", n.bootstrap] : []),
    ],
    { stdout: "inherit", stderr: "inherit" },
  ),
);

console.log(`\nD-SEF demo: 3 edge nodes
  peers:      curl http://127.0.0.1:5000/peers
  status:     curl http://127.0.0.1:5001/status
  dashboard:  http://127.0.0.1:5000/  (metrics: /metrics, CLI: npx dsef members)
  Ctrl-C stops the cluster.\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const p of procs) p.kill("SIGTERM");
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
await Promise.all(procs.map((p) => p.exited));
