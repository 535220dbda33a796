/**
 * Network namespace and iptables helpers. The benchmark runs inside a namespace of its own so
 * that its packet-loss rule and byte counters never touch the host's loopback, which other
 * processes on the machine share.
 */
import { spawnSync } from "bun";

/** Set in the re-executed benchmark: the namespace it runs in. */
export const NETNS_ENV = "DSEF_BENCH_NETNS";
const PREFIX = "dsef-bench-";
/** Our own chain, jumped to for every outgoing UDP datagram: its jump rule counts the bytes. */
const COUNT_CHAIN = "DSEF_UDP_OUT";

export function sh(cmd: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { ok: r.exitCode === 0, out: r.stdout.toString() + r.stderr.toString() };
}

function must(cmd: string[]): string {
  const r = sh(cmd);
  if (!r.ok) throw new Error(`${cmd.join(" ")} failed: ${r.out.trim()}`);
  return r.out;
}

export function namespaceName(pid = process.pid): string {
  return `${PREFIX}${pid}`;
}

/** Create the namespace with loopback up. */
export function createNamespace(name: string): void {
  must(["ip", "netns", "add", name]);
  try {
    must(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"]);
    // Keep ephemeral ports (outgoing TCP, e.g. HTTP syncs) out of the agents' port range (per-namespace sysctl).
    must(["ip", "netns", "exec", name, "sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=50000 65000"]);
  } catch (e) {
    deleteNamespace(name);
    throw e;
  }
}

/** Kill what still runs in the namespace (only processes this benchmark started there), then delete it. */
export function deleteNamespace(name: string): void {
  const pids = sh(["ip", "netns", "pids", name])
    .out.split(/\s+/)
    .filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // already gone
    }
  }
  sh(["ip", "netns", "del", name]);
}

/** Remove namespaces left by benchmark runs that were killed before they could clean up. */
export function removeStaleNamespaces(): string[] {
  const removed: string[] = [];
  for (const line of sh(["ip", "netns", "list"]).out.split("\n")) {
    const m = line.match(/^(dsef-bench-(\d+))\b/);
    if (!m || pidAlive(Number(m[2]))) continue;
    deleteNamespace(m[1]!);
    removed.push(m[1]!);
  }
  return removed;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- iptables, run from inside the namespace (they only see its own tables) ----

export function installUdpCounter(): void {
  sh(["iptables", "-N", COUNT_CHAIN]);
  must(["iptables", "-A", "OUTPUT", "-p", "udp", "-j", COUNT_CHAIN]);
}

/** Bytes of all UDP datagrams sent in the namespace so far (IP + UDP headers included). */
export function udpBytesOut(): number {
  const out = must(["iptables", "-nvxL", "OUTPUT"]);
  const row = out.split("\n").find((l) => l.includes(COUNT_CHAIN));
  if (!row) throw new Error("UDP counter rule missing");
  return Number(row.trim().split(/\s+/)[1]);
}

const lossRule = (p: number) => ["INPUT", "-p", "udp", "-m", "statistic", "--mode", "random", "--probability", String(p), "-j", "DROP"];

/** Drop this fraction of incoming UDP datagrams (TCP, and so HTTP, untouched). */
export function addUdpLoss(p: number): void {
  must(["iptables", "-A", ...lossRule(p)]);
}

export function removeUdpLoss(p: number): void {
  sh(["iptables", "-D", ...lossRule(p)]);
}
