/**
 * `npm run demo` as a new user runs it: three nodes and simulated devices from one command, a
 * banner whose instructions work (kill -9 the pid it names), one line per membership event, and
 * a clean stop with the devices' summary.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { allocPorts, BUN, ROOT, waitUntil } from "../support/processes.ts";

let demo: Subprocess | undefined;
afterAll(() => demo?.kill("SIGKILL"));

test("the demo runs nodes and devices, its banner's kill -9 shows a death while no packet is lost, SIGTERM stops it all", async () => {
  const [base] = allocPorts(3);
  const url = (i: number) => `http://127.0.0.1:${base! + i}`;
  const dataDir = mkdtempSync(join(tmpdir(), "dsef-demo-"));
  demo = Bun.spawn([BUN, join(ROOT, "scripts/demo.ts"), "--port", String(base), "--devices", "10", "--data-dir", dataDir], { stdout: "pipe", stderr: "pipe" });
  const lines: string[] = [];
  for (const stream of [demo.stdout, demo.stderr] as ReadableStream<Uint8Array>[])
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stream) lines.push(...dec.decode(chunk).split("\n"));
    })();
  const text = () => lines.join("\n");

  await waitUntil(() => text().includes("Membership events, one line each"), 30_000, text);
  expect(text()).toContain(`dashboard   ${url(0)}/`);
  const victimPid = Number(/kill -9 (\d+)\s+crash edge-c/.exec(text())?.[1]);
  expect(victimPid).toBeGreaterThan(0);

  // The devices' load reaches every node.
  const accepted = async (i: number) => ((await (await fetch(`${url(i)}/status`)).json()) as { load: { accepted: number } }).load.accepted;
  await waitUntil(async () => (await Promise.all([0, 1, 2].map(accepted))).every((n) => n > 0), 20_000, text);

  process.kill(victimPid, "SIGKILL");
  await waitUntil(
    async () => ((await (await fetch(`${url(0)}/peers`)).json()) as { name: string; state: string }[]).some((p) => p.name === "edge-c" && p.state === "dead"),
    15_000,
  );
  await waitUntil(() => /edge-c\s+dead\s+\(seen first by edge-[ab]/.test(text()), 5000, text);
  expect(text()).toContain("edge-c (pid");
  await Bun.sleep(3000); // the devices keep sending to the two survivors

  demo.kill("SIGTERM");
  expect(await demo.exited).toBe(0);
  const out = text();
  // One line per event however many nodes logged it, and no raw log lines.
  expect(out.match(/edge-c\s+dead /g)).toHaveLength(1);
  expect(lines.filter((l) => l.startsWith("{"))).toEqual([]);
  expect(out).toMatch(/acknowledged \d+, lost 0/);
  expect(out).toMatch(/edge-[ab]\s+left/);
}, 90_000);
