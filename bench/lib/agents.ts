/**
 * The two systems under test as real processes: D-SEF edge nodes and HashiCorp Serf agents.
 * Each driver starts one agent and turns its log lines into membership events.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { EventLog, EventType } from "./event-log.ts";

const ROOT = join(import.meta.dir, "..", "..");

export type SystemName = "dsef" | "serf";

export interface Agent {
  readonly system: SystemName;
  /** Gossip (UDP) port; also the key that names the agent in events. */
  readonly port: number;
  readonly proc: Subprocess;
  readonly spawnedAt: number;
  /** When the agent said it was up (D-SEF: "edge node started"). */
  upAt?: number;
  /** HTTP base URL (D-SEF only). */
  readonly url?: string;
  readonly output: string[];
  readonly cleanup: () => void;
  /** Killed or stopped by the benchmark: no longer expected to answer. */
  gone: boolean;
}

/** How to start D-SEF nodes (ignored for Serf): extra flags, Bun runtime flags, environment, entry file. */
export interface LaunchOptions {
  args: readonly string[];
  bunArgs: readonly string[];
  env: Record<string, string>;
  /** Defaults to src/main.ts; a `bun build` bundle of it also works. */
  entry?: string;
  /** Start nodes with this instead of `bun [bunArgs] entry`: the compiled binary, [dsef, "node"]. */
  command?: readonly string[];
}

export interface Driver {
  readonly name: SystemName;
  /** Ports one agent occupies (Serf also needs an RPC port). */
  readonly portsPerAgent: number;
  spawn(port: number, seed: number | undefined, log: EventLog, launch: LaunchOptions): Agent;
}

/** Feed a process's output, line by line, to `onLine` with the arrival time. */
function follow(stream: ReadableStream<Uint8Array>, onLine: (line: string, at: number) => void): void {
  void (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      const at = performance.now();
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line) onLine(line, at);
      }
    }
  })();
}

/** Keep only the last lines of output, for error messages. */
function remember(output: string[], line: string): void {
  output.push(line);
  if (output.length > 200) output.splice(0, output.length - 200);
}

const portOf = (addr: string): number => Number(addr.slice(addr.lastIndexOf(":") + 1));

const DSEF_EVENTS: Record<string, EventType> = {
  joined: "alive",
  rejoined: "alive",
  alive: "alive",
  updated: "alive",
  suspect: "suspect",
  dead: "dead",
  left: "left",
  refuted: "refuted",
};

export const dsef: Driver = {
  name: "dsef",
  portsPerAgent: 1,
  spawn(port, seed, log, launch) {
    const dataDir = mkdtempSync(join(tmpdir(), `dsef-bench-${port}-`));
    const argv = [
      ...(launch.command ?? [process.execPath, ...launch.bunArgs, launch.entry ?? join(ROOT, "src/main.ts")]),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--promised_capacity",
      "1000",
      "--data-dir",
      dataDir,
      "--log-format",
      "json",
      ...(seed ? ["--bootstrap", `http://127.0.0.1:${seed}`] : []),
      ...launch.args,
    ];
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", cwd: ROOT, env: { ...process.env, ...launch.env } });
    const agent: Agent = {
      system: "dsef",
      port,
      proc,
      spawnedAt: performance.now(),
      url: `http://127.0.0.1:${port}`,
      output: [],
      cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
      gone: false,
    };
    const onLine = (line: string, at: number) => {
      remember(agent.output, line);
      if (line[0] !== "{") return;
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line);
      } catch {
        return;
      }
      if (o.msg === "edge node started") agent.upAt = at;
      const type = typeof o.event === "string" ? DSEF_EVENTS[o.event] : undefined;
      if (!type || typeof o.addr !== "string") return;
      const member = portOf(o.addr);
      log.record({ at, observer: port, member, type, ...(typeof o.reason === "string" ? { reason: o.reason } : {}) });
      // A suspicion this node raised itself carries its own id in `by`.
      if (type === "suspect" && o.by === o.id) log.record({ at, observer: port, member, type: "suspect-origin" });
    };
    follow(proc.stdout as ReadableStream<Uint8Array>, onLine);
    follow(proc.stderr as ReadableStream<Uint8Array>, onLine);
    return agent;
  },
};

/** Serf names agents after their port, so log lines map back to ports. */
const serfName = (port: number) => `n${port}`;
const SERF_LINES: [RegExp, EventType][] = [
  [/serf: EventMemberJoin: n(\d+) /, "alive"],
  [/serf: EventMemberFailed: n(\d+) /, "dead"],
  [/serf: EventMemberLeave: n(\d+) /, "left"],
  [/memberlist: Suspect n(\d+) has failed/, "suspect-origin"],
  [/memberlist: Was able to connect to n(\d+) but other probes failed/, "tcp-fallback"],
];

export const serf: Driver = {
  name: "serf",
  portsPerAgent: 2,
  spawn(port, seed, log) {
    const argv = [
      "serf",
      "agent",
      "-node",
      serfName(port),
      "-bind",
      `127.0.0.1:${port}`,
      "-rpc-addr",
      `127.0.0.1:${port + 1}`,
      "-log-level",
      "info",
      ...(seed ? ["-join", `127.0.0.1:${seed}`] : []),
    ];
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
    const agent: Agent = { system: "serf", port, proc, spawnedAt: performance.now(), output: [], cleanup: () => {}, gone: false };
    const onLine = (line: string, at: number) => {
      remember(agent.output, line);
      if (line.includes("Serf agent running!")) agent.upAt = at;
      for (const [re, type] of SERF_LINES) {
        const m = line.match(re);
        if (m) log.record({ at, observer: port, member: Number(m[1]), type });
      }
      const declared = line.match(/memberlist: Marking n(\d+) as failed, (.*)$/);
      if (declared) log.record({ at, observer: port, member: Number(declared[1]), type: "dead", reason: declared[2] });
      if (line.includes("memberlist: Refuting a ")) log.record({ at, observer: port, member: port, type: "refuted" });
    };
    follow(proc.stdout as ReadableStream<Uint8Array>, onLine);
    follow(proc.stderr as ReadableStream<Uint8Array>, onLine);
    return agent;
  },
};
