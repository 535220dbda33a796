#!/usr/bin/env bun
/**
 * Container footprint: N edge-node containers of each image on one Docker network, idle after
 * they converge. Per container: CPU over an idle window from the container's cgroup (everything
 * in it, the image's HEALTHCHECK runs included), memory as `docker stats` shows it (cgroup usage
 * without page cache), and the image size.
 *
 *   npx bun bench/containers.ts --image dsef:test [--image dsef:other ...] [--n 10] [--settle 10] [--window 30]
 *
 * Needs a Docker engine; the host reaches the containers by their bridge addresses (Linux). The
 * images are measured one after the other; everything made is labelled dsef.test=1 and removed.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { mean } from "./lib/stats.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    image: { type: "string", multiple: true },
    n: { type: "string", default: "10" },
    settle: { type: "string", default: "10" },
    window: { type: "string", default: "30" },
  },
  strict: true,
});
const images = values.image ?? ["dsef:test"];
const n = Number(values.n);
const windowS = Number(values.window);
const KEY = "container-bench-cluster-key-0123456789abcdef";

function docker(...args: string[]): string {
  const r = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`docker ${args.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString().trim();
}

/** CPU time a container has used, in ns, from its cgroup (v1, or v2 with the systemd driver). */
function cpuNs(id: string): number {
  try {
    return Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, "utf8").trim());
  } catch {
    const stat = readFileSync(`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, "utf8");
    return Number(/usage_usec (\d+)/.exec(stat)?.[1]) * 1000;
  }
}

/** "12.3MiB / 23.4GiB" → MB */
function memMb(usage: string): number {
  const m = /^([\d.]+)\s*([KMG]i?B)/.exec(usage);
  if (!m) return Number.NaN;
  const f: Record<string, number> = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1e3, MB: 1e6, GB: 1e9 };
  return (Number(m[1]) * f[m[2]!]!) / 1e6;
}

async function converge(ips: string[]): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const views = await Promise.all(
      ips.map((ip) =>
        fetch(`http://${ip}:5000/peers`, { signal: AbortSignal.timeout(2000) })
          .then((r) => r.json() as Promise<{ state: string }[]>)
          .catch(() => []),
      ),
    );
    if (views.every((v) => v.filter((p) => p.state === "alive").length === n)) return performance.now() - t0;
    if (performance.now() - t0 > 90_000) throw new Error("the containers did not converge in 90 s");
    await Bun.sleep(250);
  }
}

async function measure(image: string): Promise<string> {
  const net = `dsef-footprint-${process.pid}`;
  docker("network", "create", "--label", "dsef.test=1", net);
  const ids: string[] = [];
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const args = ["run", "-d", "--label", "dsef.test=1", "--network", net, "--network-alias", "edge", "-e", `DSEF_CLUSTER_KEY=${KEY}`, image];
      ids.push(docker(...args, "--name", `edge${i}`, "--promised_capacity", "1000", "--bootstrap", "edge:5000"));
    }
    const ips = ids.map((id) => docker("inspect", "-f", `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, id));
    await converge(ips);
    const convergedMs = performance.now() - t0;
    await Bun.sleep(Number(values.settle) * 1000);
    const before = ids.map(cpuNs);
    const w0 = performance.now();
    const mem: number[] = [];
    while (performance.now() - w0 < windowS * 1000) {
      for (const line of docker("stats", "--no-stream", "--format", "{{.MemUsage}}", ...ids).split("\n")) mem.push(memMb(line));
    }
    const elapsedNs = (performance.now() - w0) * 1e6;
    const cpu = ids.map((id, i) => ((cpuNs(id) - before[i]!) / elapsedNs) * 100);
    const size = Number(docker("image", "inspect", "-f", "{{.Size}}", image)) / 1e6;
    return `| ${image} | ${size.toFixed(0)} MB | ${(convergedMs / 1000).toFixed(1)} s | ${mean(cpu).toFixed(2)} % (max ${Math.max(...cpu).toFixed(2)} %) | ${mean(mem).toFixed(1)} MB (max ${Math.max(...mem).toFixed(1)} MB) |`;
  } finally {
    if (ids.length) Bun.spawnSync(["docker", "rm", "-f", "-v", ...ids]);
    Bun.spawnSync(["docker", "network", "rm", net]);
  }
}

const rows: string[] = [];
for (const image of images) rows.push(await measure(image));
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`${n} edge containers per image; idle window ${windowS} s, ${values.settle} s after all ${n} see all alive (load average ${load})`);
console.log("| image | size | docker run ×N → all see all alive | CPU per container (cgroup, mean) | memory per container (docker stats, mean) |");
console.log("| --- | --- | --- | --- | --- |");
for (const r of rows) console.log(r);
