#!/usr/bin/env bun
/**
 * Observability figures on loopback: /metrics scrape latency, and how fast a membership event
 * reaches many /events clients (3 real nodes; N SSE clients on one; kill -9 another).
 *   bun bench/dashboard.ts [--clients 50] [--scrapes 300]
 */
import { parseArgs } from "node:util";
import { type NodeProcess, startCluster, stopAll } from "../tests/support/processes.ts";
import { readSse } from "../tests/support/sse.ts";

const { values } = parseArgs({ options: { clients: { type: "string", default: "50" }, scrapes: { type: "string", default: "300" } } });
const clients = Number(values.clients);
const scrapes = Number(values.scrapes);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

const nodes: NodeProcess[] = await startCluster(3);
try {
  const [a, , c] = nodes as [NodeProcess, NodeProcess, NodeProcess];

  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < scrapes; i++) {
    const t = performance.now();
    const body = await (await fetch(`${a.url}/metrics`)).text();
    times.push(performance.now() - t);
    bytes = body.length;
  }
  console.log(`/metrics: ${scrapes} sequential scrapes, ${bytes} bytes each: p50 ${ms(pct(times, 50))}, p99 ${ms(pct(times, 99))}`);

  const victim = (await c.status()).id as string;
  const abort = new AbortController();
  let killedAt = 0;
  const arrivals = Array.from({ length: clients }, async () => {
    for await (const m of readSse(`${a.url}/events`, abort.signal)) {
      if (m.event === "timeline" && m.data.kind === "dead" && m.data.id === victim) return performance.now();
    }
    return Number.NaN;
  });
  await Bun.sleep(1500); // every client connected and greeted
  killedAt = performance.now();
  c.kill("SIGKILL");
  const got = (await Promise.all(arrivals.map((p) => p.catch(() => Number.NaN)))).filter(Number.isFinite);
  abort.abort();
  const lat = got.map((t) => t - killedAt);
  console.log(
    `/events: ${clients} clients on one node; kill -9 of a peer -> "dead" at the clients: ${got.length}/${clients} received, min ${ms(Math.min(...lat))}, p50 ${ms(pct(lat, 50))}, max ${ms(Math.max(...lat))}`,
  );
  console.log(`  spread between first and last client: ${ms(Math.max(...lat) - Math.min(...lat))} (the rest is failure detection)`);
} finally {
  await stopAll(nodes);
}
