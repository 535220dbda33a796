/**
 * A cluster of agents of one system inside the benchmark's namespace: start, wait for views to
 * converge, kill, stop, and tear everything down.
 */
import type { Agent, Driver, LaunchOptions } from "./agents.ts";
import { EventLog, type ViewState } from "./event-log.ts";

/** Agents started at once while forming a cluster (2 cores: more only slows each start). */
const START_BATCH = 4;

/** Clusters with processes running, so a Ctrl-C can kill them all at once. */
export const activeClusters = new Set<Cluster>();

export class Cluster {
  readonly log = new EventLog();
  readonly agents: Agent[] = [];
  #nextPort: number;

  constructor(
    readonly driver: Driver,
    firstPort: number,
    private readonly lastPort: number,
    private readonly launch: LaunchOptions,
  ) {
    this.#nextPort = firstPort;
    activeClusters.add(this);
  }

  get live(): Agent[] {
    return this.agents.filter((a) => !a.gone);
  }

  get seed(): Agent {
    return this.agents[0]!;
  }

  /** Start one agent joining through `seed` (none: it founds the cluster). */
  spawn(seed?: Agent): Agent {
    const port = this.#nextPort;
    this.#nextPort += this.driver.portsPerAgent;
    if (this.#nextPort > this.lastPort) throw new Error(`out of ports for ${this.driver.name}`);
    const a = this.driver.spawn(port, seed?.port, this.log, this.launch);
    this.agents.push(a);
    void a.proc.exited.then((code) => {
      if (!a.gone) process.stderr.write(`${a.system} agent ${a.port} exited unexpectedly (${code}):\n${a.output.slice(-10).join("\n")}\n`);
    });
    return a;
  }

  /** Form a cluster of n agents, all joining through the first; resolves when views agree. */
  async form(n: number): Promise<void> {
    const seed = this.spawn();
    await this.waitUp([seed]);
    for (let i = 1; i < n; i += START_BATCH) {
      const batch: Agent[] = [];
      for (let j = i; j < Math.min(n, i + START_BATCH); j++) batch.push(this.spawn(seed));
      // Each running agent takes its share of the two cores: a newcomer among 200 starts slower.
      await this.waitUp(batch, 20_000 + 200 * i);
    }
    await this.waitViews(this.live, "alive", 30_000 + 1000 * n, "cluster formation");
  }

  async waitUp(agents: Agent[], timeoutMs = 20_000): Promise<void> {
    await waitFor(
      () => agents.every((a) => a.upAt !== undefined),
      timeoutMs,
      () =>
        `${this.driver.name} agents did not start: ${agents
          .filter((a) => !a.upAt)
          .map((a) => `${a.port}: ${a.output.slice(-5).join(" | ")}`)
          .join("\n")}`,
    );
  }

  /** Wait until every live agent sees each of `targets` in `state`; returns when (ms clock). */
  async waitViews(targets: Agent[], state: ViewState, timeoutMs: number, what: string): Promise<number> {
    const ports = targets.map((a) => a.port);
    await waitFor(
      () =>
        this.log.allSee(
          this.live.map((a) => a.port),
          ports,
          state,
        ),
      timeoutMs,
      () => `${this.driver.name}: ${what} did not converge in ${timeoutMs} ms (${this.#missing(ports, state)})`,
    );
    return performance.now();
  }

  /** Which observers do not (yet) see which members in `state`, for error messages. */
  #missing(ports: number[], state: ViewState): string {
    const gaps: string[] = [];
    for (const o of this.live) {
      for (const m of ports)
        if (m !== o.port && this.log.state(o.port, m) !== state) gaps.push(`${o.port} sees ${m} as ${this.log.state(o.port, m) ?? "unknown"}`);
    }
    return `${gaps.length} gaps: ${gaps.slice(0, 5).join(", ")}`;
  }

  /** When (arrival clock) the slowest live observer first reported `member` in `state` after `since`. */
  lastReport(member: Agent, state: ViewState, since: number): number {
    let last = since;
    for (const o of this.live) {
      if (o === member) continue;
      const e = this.log.events.find((e) => e.at >= since && e.observer === o.port && e.member === member.port && e.type === state);
      if (e) last = Math.max(last, e.at);
    }
    return last;
  }

  kill(a: Agent, signal: "SIGKILL" | "SIGSTOP"): number {
    a.gone = true;
    const t = performance.now();
    a.proc.kill(signal);
    return t;
  }

  /** A random live agent other than the seed. */
  pickVictim(): Agent {
    const pool = this.live.filter((a) => a !== this.seed);
    return pool[Math.floor(Math.random() * pool.length)]!;
  }

  /** Kill every agent at once (synchronous: usable from a signal handler). */
  killAll(): void {
    for (const a of this.agents) {
      a.gone = true;
      a.proc.kill("SIGKILL");
      a.cleanup();
    }
    activeClusters.delete(this);
  }

  async stop(): Promise<void> {
    for (const a of this.agents) {
      a.gone = true;
      a.proc.kill("SIGKILL");
    }
    await Promise.all(this.agents.map((a) => a.proc.exited));
    for (const a of this.agents) a.cleanup();
    activeClusters.delete(this);
  }
}

/** Poll `cond` every 20 ms (event times come from log arrival, not from this poll). */
export async function waitFor(cond: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new TimeoutError(describe());
    await Bun.sleep(20);
  }
}

export class TimeoutError extends Error {}
