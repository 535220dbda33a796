/** GET /events on a real node: a hello and snapshots at once, then membership events as they happen. */
import { afterAll, expect, test } from "bun:test";
import { type NodeProcess, startCluster, stopAll, waitUntil } from "../support/processes.ts";
import { scrape, value } from "../support/prometheus.ts";
import { readSse, type SseMessage } from "../support/sse.ts";

const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test("/events streams a snapshot, then the death of a killed node within a second", async () => {
  nodes.push(...(await startCluster(3)));
  const [a, , c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  const victimId = (await c.status()).id as string;

  // A page served by another member may read the stream (the dashboard fails over that way).
  const head = await fetch(`${a.url}/events`, { signal: AbortSignal.timeout(2000), headers: { origin: `http://127.0.0.1:${c.port}` } });
  expect(head.headers.get("content-type")).toStartWith("text/event-stream");
  expect(head.headers.get("access-control-allow-origin")).toBe(`http://127.0.0.1:${c.port}`);
  await head.body?.cancel();

  const abort = new AbortController();
  const seen: SseMessage[] = [];
  const stream = readSse(`${a.url}/events`, abort.signal);
  const next = async () => {
    const r = await stream.next();
    if (r.done) throw new Error("stream ended");
    seen.push(r.value);
    return r.value;
  };
  const hello = await next();
  // The first, cancelled stream is let go; this one is counted.
  await waitUntil(async () => value((await scrape(a.url)).families, "dsef_dashboard_clients") === 1, 5000);
  expect(hello.event).toBe("hello");
  expect(hello.data.node.addr).toBe(`127.0.0.1:${a.port}`);
  const snap = await next();
  expect(snap.event).toBe("snapshot");
  expect(snap.data.members.filter((m: { state: string }) => m.state === "alive")).toHaveLength(3);

  c.kill("SIGKILL");
  let deadEvent: SseMessage | undefined;
  let deadSnapshot: SseMessage | undefined;
  const deadline = Date.now() + 30_000;
  while ((!deadEvent || !deadSnapshot) && Date.now() < deadline) {
    const m = await next();
    if (m.event === "timeline" && m.data.kind === "dead" && m.data.id === victimId) deadEvent = m;
    if (m.event === "snapshot" && m.data.members.some((p: { id: string; state: string }) => p.id === victimId && p.state === "dead")) deadSnapshot ??= m;
  }
  abort.abort();
  expect(deadEvent?.data.text).toContain("is dead");
  // A closed stream is forgotten by the node.
  await waitUntil(async () => value((await scrape(a.url)).families, "dsef_dashboard_clients") === 0, 5000);
  // The snapshot showing the death follows the event at once, not at the next periodic tick.
  expect(deadSnapshot!.data.at - deadEvent!.data.at).toBeLessThan(1000);
}, 60_000);
