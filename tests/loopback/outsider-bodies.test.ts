/**
 * An outsider (no credential) against a secured cluster's HTTP port, with bodies: huge chunked
 * POSTs, several at once, and big bodies on the credentialed routes. Every one is refused at
 * once, the node's memory stays flat, and the cluster carries on.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSecuredCluster } from "../support/identity.ts";
import { outsider, peakRssDuring, rssMb } from "../support/outsider.ts";
import { allSee, type NodeProcess, stopAll } from "../support/processes.ts";

const KEY = "outsider-bodies-test-cluster-key-0123456789";
const MiB = 1024 * 1024;
let nodes: NodeProcess[] = [];
let target: NodeProcess;

beforeAll(async () => {
  nodes = await startSecuredCluster(2, () => ({ args: ["--cluster-key", KEY] }));
  target = nodes[0]!;
}, 30_000);
afterAll(() => stopAll(nodes));

describe("bodies are bounded while they stream", () => {
  const routes: [string, number][] = [
    ["/handle_request", 413],
    ["/join/hello", 413],
    // No credential: refused before a byte of the body is read.
    ["/packets/ask", 401],
    ["/sync", 401],
    ["/join/finish", 401],
  ];
  for (const [path, status] of routes) {
    test(`64 MiB chunked POST ${path}: ${status} at once, node RSS grows < 40 MB`, async () => {
      const before = rssMb(target.proc.pid);
      const { value: r, peakMb } = await peakRssDuring(target.proc.pid, () =>
        outsider({ kind: "body", port: target.port, path, chunked: true, total: 64 * MiB }),
      );
      console.log(
        `${path}: ${r.status} after ${r.firstByteMs} ms, ${(r.sentBytes / MiB).toFixed(1)} MiB sent, node RSS ${before.toFixed(0)} -> peak ${peakMb.toFixed(0)} MB`,
      );
      expect(r.status).toBe(status);
      expect(r.firstByteMs).toBeLessThan(1000);
      expect(r.sentBytes).toBeLessThan(64 * MiB);
      expect(peakMb - before).toBeLessThan(40);
    }, 30_000);
  }

  test("four concurrent 100 MiB chunked bodies: node RSS grows < 40 MB", async () => {
    const before = rssMb(target.proc.pid);
    const { value, peakMb } = await peakRssDuring(target.proc.pid, () =>
      Promise.all(
        ["/handle_request", "/packets/ask", "/handle_request", "/join/hello"].map((path) =>
          outsider({ kind: "body", port: target.port, path, chunked: true, total: 100 * MiB }),
        ),
      ),
    );
    console.log(`4 x 100 MiB: ${value.map((r) => r.status).join(", ")}; node RSS ${before.toFixed(0)} -> peak ${peakMb.toFixed(0)} MB`);
    for (const r of value) expect([401, 413]).toContain(r.status);
    expect(peakMb - before).toBeLessThan(40);
  }, 60_000);

  for (const path of ["/sync", "/join/finish"]) {
    test(`a 4 MB ${path} body with no credential is refused before it is read`, async () => {
      // Only the first 64 KiB of the declared 4 MB are ever sent: an answer proves the node did not wait for the rest.
      const r = await outsider({ kind: "body", port: target.port, path, declared: 4 * MiB, total: 64 * 1024, lingerMs: 1500 });
      expect(r.status).toBe(401);
      expect(r.firstByteMs).toBeLessThan(1000);
    }, 20_000);

    test(`a forged credential on ${path} is refused before the body is read too`, async () => {
      const headers =
        path === "/sync"
          ? { "x-dsef-auth": `00000000.${Date.now()}.${"0".repeat(32)}.${"A".repeat(43)}` }
          : { "x-dsef-join": `${"0".repeat(32)}.${"A".repeat(86)}` };
      const r = await outsider({ kind: "body", port: target.port, path, declared: 4 * MiB, total: 64 * 1024, headers, lingerMs: 1500 });
      expect([401, 403]).toContain(r.status);
      expect(r.firstByteMs).toBeLessThan(1000);
    }, 20_000);
  }

  test("after all that the cluster is whole and the node serves devices", async () => {
    expect(await allSee(nodes, nodes, "alive")).toBe(true);
    const res = await fetch(`${target.url}/handle_request`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"processing_load": 5}',
    });
    expect(res.status).toBe(200);
  });
});
