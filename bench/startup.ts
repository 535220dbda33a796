#!/usr/bin/env bun
/**
 * Spawn → up for one edge node started alone: from source (`bun src/main.ts`) and from the single
 * binary (`dsef node`), alternating, N times each. "Up" is the node's `edge node started` log
 * line, the same moment bench/membership.ts uses; RSS is read right then.
 *
 *   npx bun bench/startup.ts [--runs 10] [--binary FILE ...]   (default: builds the binary in a temp dir)
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildBinary } from "../scripts/build-binary.ts";
import { max, median, min } from "./lib/stats.ts";

const ROOT = join(import.meta.dir, "..");

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { runs: { type: "string", default: "10" }, binary: { type: "string", multiple: true } },
  strict: true,
});
const runs = Number(values.runs);
const tmp = mkdtempSync(join(tmpdir(), "dsef-startup-"));
const binaries = values.binary?.length ? values.binary.map((b) => resolve(b)) : [buildBinary(join(tmp, "dsef")).outfile];
const variants: { name: string; argv: string[] }[] = [
  { name: "source: bun src/main.ts", argv: [process.execPath, join(ROOT, "src/main.ts")] },
  ...binaries.map((b) => ({ name: `binary: ${b === join(tmp, "dsef") ? "dsef" : b} node`, argv: [b, "node"] })),
];

/** One start: ms from spawn to the "edge node started" line, and RSS (MB) at that moment. */
async function once(argv: string[], port: number): Promise<{ ms: number; rssMb: number }> {
  const dataDir = mkdtempSync(join(tmp, "data-"));
  const t0 = performance.now();
  const proc = Bun.spawn([...argv, "--port", String(port), "--data-dir", dataDir, "--log-format", "json"], { stdout: "pipe", stderr: "ignore", cwd: tmp });
  try {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += dec.decode(chunk);
      if (buf.includes('"msg":"edge node started"')) {
        const ms = performance.now() - t0;
        const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
        return { ms, rssMb: rss };
      }
    }
    throw new Error(`node exited before it was up: ${buf.slice(-500)}`);
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

const samples = new Map<string, { ms: number[]; rss: number[] }>(variants.map((v) => [v.name, { ms: [], rss: [] }]));
let port = 41_000 + Math.floor(Math.random() * 5000);
for (let i = 0; i < runs; i++) {
  for (const v of i % 2 ? [...variants].reverse() : variants) {
    // Another process on this shared machine may hold a port: try the next one.
    let s: { ms: number; rssMb: number } | undefined;
    for (let attempt = 0; !s; attempt++) {
      try {
        s = await once(v.argv, port++);
      } catch (e) {
        if (attempt === 4 || !/cannot listen/.test((e as Error).message)) throw e;
      }
    }
    samples.get(v.name)!.ms.push(s.ms);
    samples.get(v.name)!.rss.push(s.rssMb);
  }
}
console.log(
  `spawn → up, one node alone, ${runs} runs each (bun ${Bun.version}; load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")})`,
);
console.log("| how | median ms | min–max ms | RSS at up, MB (median) |\n| --- | --- | --- | --- |");
for (const [name, s] of samples)
  console.log(`| ${name} | ${median(s.ms).toFixed(0)} | ${min(s.ms).toFixed(0)}–${max(s.ms).toFixed(0)} | ${median(s.rss).toFixed(1)} |`);
rmSync(tmp, { recursive: true, force: true });
