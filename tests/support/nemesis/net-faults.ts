/**
 * Network faults for the soak, inside a network namespace of its own: UDP loss bursts and
 * partitions between groups of nodes, all on 127.0.0.1.
 *
 * Every node runs in a cgroup of its own; an OUTPUT rule marks the packets its sockets send,
 * and the fault rules drop, on INPUT, packets with a given mark bound for given ports (a node's
 * HTTP and gossip ports are one number). Dropping on INPUT, not OUTPUT, makes a cut look like a
 * lossy network to the sender (no EPERM from sendto). The ESP simulator and the checker run in
 * no node's cgroup, so they reach both sides of a partition, as devices and an operator would.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { pidAlive, sh } from "../../../bench/lib/netns.ts";

/** Set in the soak engine's environment when it runs in its own namespace (by namespace.ts). */
export const SOAK_NETNS_ENV = "DSEF_SOAK_NETNS";
const MARK_CHAIN = "DSEF_SOAK_MARK";
const FAULT_CHAIN = "DSEF_SOAK_FAULT";
const CGROUP_PREFIX = "dsef-soak-";

function must(cmd: string[]): void {
  const r = sh(cmd);
  if (!r.ok) throw new Error(`${cmd.join(" ")} failed: ${r.out.trim()}`);
}

/** Where cgroup v2 is mounted, if anywhere. */
function cgroup2Mount(): string | undefined {
  try {
    for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
      const [, where, type] = line.split(" ");
      if (type === "cgroup2" && where) return where;
    }
  } catch {
    // no /proc
  }
  return undefined;
}

export interface NetFaultSupport {
  /** UDP loss bursts (iptables in our namespace). */
  loss: boolean;
  /** Partitions (also per-node cgroups to tell nodes' packets apart). */
  partition: boolean;
  /** Why a kind is missing, for the run's output. */
  why?: string;
}

export class NetFaults {
  readonly support: NetFaultSupport;
  #cgroupDir: string | undefined;
  #cgroupRel: string | undefined;
  #nodes = new Map<string, { mark: number; port: number }>();
  #dropped = 0;

  constructor() {
    const ns = process.env[SOAK_NETNS_ENV];
    if (!ns) {
      this.support = { loss: false, partition: false, why: "not running in a network namespace of its own (needs root, iproute2, iptables and nsenter)" };
      return;
    }
    if (!sh(["iptables", "-N", FAULT_CHAIN]).ok || !sh(["iptables", "-I", "INPUT", "-j", FAULT_CHAIN]).ok) {
      this.support = { loss: false, partition: false, why: "iptables does not work in the namespace" };
      return;
    }
    const mount = cgroup2Mount();
    try {
      if (!mount) throw new Error("no cgroup v2 mount");
      removeStaleCgroups(mount);
      this.#cgroupRel = `${CGROUP_PREFIX}${process.pid}`;
      this.#cgroupDir = join(mount, this.#cgroupRel);
      mkdirSync(this.#cgroupDir);
      must(["iptables", "-N", MARK_CHAIN]);
      must(["iptables", "-I", "OUTPUT", "-j", MARK_CHAIN]);
      this.support = { loss: true, partition: true };
    } catch (e) {
      this.#cgroupDir = undefined;
      this.support = { loss: true, partition: false, why: `partitions need per-node cgroups: ${(e as Error).message}` };
    }
  }

  /**
   * The command prefix that starts a node in its own cgroup (the shell moves itself there, then
   * execs the node, so every socket the node opens belongs to the cgroup), or [] without cgroups.
   */
  enter(name: string, port: number): string[] {
    if (!this.#cgroupDir || !this.#cgroupRel) return [];
    const dir = join(this.#cgroupDir, name);
    if (!this.#nodes.has(name)) {
      mkdirSync(dir, { recursive: true });
      const mark = this.#nodes.size + 1;
      must(["iptables", "-A", MARK_CHAIN, "-m", "cgroup", "--path", `${this.#cgroupRel}/${name}`, "-j", "MARK", "--set-mark", String(mark)]);
      this.#nodes.set(name, { mark, port });
    }
    return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', join(dir, "cgroup.procs")];
  }

  /** Drop this fraction of all UDP datagrams between nodes (HTTP untouched: TCP). */
  loss(rate: number): void {
    must(["iptables", "-A", FAULT_CHAIN, "-p", "udp", "-m", "statistic", "--mode", "random", "--probability", String(rate), "-j", "DROP"]);
  }

  /** Cut every node of one side off from every node of the other, both ways, UDP and TCP. */
  partition(sides: [string[], string[]]): void {
    const [a, b] = sides.map((s) => s.map((n) => this.#nodes.get(n) ?? missing(n)));
    for (const [from, to] of [
      [a!, b!],
      [b!, a!],
    ] as const) {
      const ports = to.map((n) => n.port).join(",");
      for (const n of from)
        for (const proto of ["udp", "tcp"])
          must(["iptables", "-A", FAULT_CHAIN, "-m", "mark", "--mark", String(n.mark), "-p", proto, "-m", "multiport", "--dports", ports, "-j", "DROP"]);
    }
  }

  /** Remove every fault rule (counting what they dropped first). */
  heal(): void {
    if (!this.support.loss) return;
    this.#dropped += this.#counted();
    sh(["iptables", "-F", FAULT_CHAIN]);
  }

  /** Packets the fault rules dropped so far (for the figures). */
  droppedPackets(): number {
    return this.#dropped + (this.support.loss ? this.#counted() : 0);
  }

  #counted(): number {
    return sh(["iptables", "-nvxL", FAULT_CHAIN])
      .out.split("\n")
      .slice(2)
      .reduce((n, l) => n + (Number(l.trim().split(/\s+/)[0]) || 0), 0);
  }

  /** After every node has exited: remove the cgroups (the namespace goes with its rules). */
  close(): void {
    this.heal();
    if (!this.#cgroupDir) return;
    for (const name of this.#nodes.keys()) removeDir(join(this.#cgroupDir, name));
    removeDir(this.#cgroupDir);
  }
}

function missing(name: string): never {
  throw new Error(`partition: node ${name} was never started in a cgroup`);
}

function removeDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // still has a process (it will be gone soon) or already removed
  }
}

/** Cgroups left by soak runs that were killed before they could clean up. */
function removeStaleCgroups(mount: string): void {
  for (const entry of readdirSync(mount)) {
    const m = entry.match(/^dsef-soak-(\d+)$/);
    if (!m || pidAlive(Number(m[1]))) continue;
    const dir = join(mount, entry);
    for (const child of readdirSync(dir)) if (existsSync(join(dir, child, "cgroup.procs"))) removeDir(join(dir, child));
    removeDir(dir);
  }
}
