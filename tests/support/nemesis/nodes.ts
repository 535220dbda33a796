/**
 * Edge-node processes for the soak: start (in a cgroup when partitions are possible), signal,
 * restart with the same data dir, read. Each node's log goes to a file; in memory only the ids
 * of the packets it accepted (to check that no acknowledged packet is lost) and a short tail.
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BUN, type PeerRow, ROOT } from "../processes.ts";

export type NodeState = "up" | "paused" | "down";

export interface NodeSpec {
  name: string;
  port: number;
  capacity: number;
  bootstrap?: string;
  dataDir: string;
  logDir: string;
  /** Command prefix (the cgroup entry), prepended to bun's argv. */
  prefix: string[];
}

/** Packet ids taken, over every node and every process generation. */
export type PacketTally = Map<string, number>;

const TAIL = 40;

/** Every node process started, killed when the soak exits whatever happened. */
const running = new Set<Subprocess>();
export function killAllNodes(): void {
  for (const p of running) p.kill("SIGKILL");
}
process.on("exit", killAllNodes);

export class SoakNode {
  readonly url: string;
  state: NodeState = "down";
  /** Process generation: 0 for the first start, +1 on every restart. */
  generation = -1;
  proc: Subprocess | undefined;
  readonly tail: string[] = [];
  #log: WriteStream;

  constructor(
    readonly spec: NodeSpec,
    private readonly packets: PacketTally,
  ) {
    this.url = `http://127.0.0.1:${spec.port}`;
    mkdirSync(spec.logDir, { recursive: true });
    this.#log = createWriteStream(join(spec.logDir, `${spec.name}.log`), { flags: "a" });
  }

  get name(): string {
    return this.spec.name;
  }

  /** Start (or restart) the process; resolves once /health answers. */
  async start(): Promise<void> {
    const s = this.spec;
    const argv = [...s.prefix, BUN, join(ROOT, "src/main.ts"), "--ip", "127.0.0.1", "--port", String(s.port), "--name", s.name]
      .concat(["--promised_capacity", String(s.capacity), "--data-dir", s.dataDir, "--log-format", "json", "--log-level", "debug"])
      .concat(s.bootstrap ? ["--bootstrap", s.bootstrap] : []);
    this.generation++;
    this.#log.write(`# start generation ${this.generation}: ${argv.join(" ")}\n`);
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    this.proc = proc;
    running.add(proc);
    void proc.exited.then(() => running.delete(proc));
    this.state = "up";
    for (const stream of [proc.stdout, proc.stderr]) void this.#read(stream as ReadableStream<Uint8Array>);
    const end = performance.now() + 15_000;
    for (;;) {
      try {
        if ((await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) })).ok) return;
      } catch {
        // not up yet
      }
      if (performance.now() > end || proc.exitCode !== null) throw new Error(`${s.name} did not start:\n${this.tail.join("\n")}`);
      await Bun.sleep(50);
    }
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      const text = rest + dec.decode(chunk, { stream: true });
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) this.#line(line);
    }
    if (rest) this.#line(rest);
  }

  #line(line: string): void {
    if (!line) return;
    this.#log.write(`${line}\n`);
    this.tail.push(line);
    if (this.tail.length > TAIL) this.tail.shift();
    if (!line.includes('"packet accepted"')) return;
    try {
      const id = JSON.parse(line).packet_id as string;
      this.packets.set(id, (this.packets.get(id) ?? 0) + 1);
    } catch {
      // a torn line: the log file still has it
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.proc?.kill(sig);
  }

  /** SIGKILL, or SIGTERM (graceful leave) with a SIGKILL after `graceMs`; resolves on exit. */
  async stop(sig: "SIGKILL" | "SIGTERM", graceMs = 10_000): Promise<number | null> {
    const proc = this.proc;
    this.state = "down";
    if (!proc) return null;
    proc.kill(sig);
    const timer = sig === "SIGTERM" ? setTimeout(() => proc.kill("SIGKILL"), graceMs) : undefined;
    const code = await proc.exited;
    clearTimeout(timer);
    return code;
  }

  async peers(timeoutMs: number): Promise<PeerRow[]> {
    return (await fetch(`${this.url}/peers`, { signal: AbortSignal.timeout(timeoutMs) })).json() as Promise<PeerRow[]>;
  }

  async status(timeoutMs: number): Promise<Record<string, any>> {
    return (await fetch(`${this.url}/status`, { signal: AbortSignal.timeout(timeoutMs) })).json() as Promise<Record<string, any>>;
  }

  closeLog(): void {
    this.#log.end();
  }
}
