/**
 * The measured scenarios. Each forms a fresh cluster of one system, measures, and tears it down.
 */
import type { Agent, Driver, LaunchOptions } from "./agents.ts";
import { Cluster, TimeoutError } from "./cluster.ts";
import { addUdpLoss, removeUdpLoss, udpBytesOut } from "./netns.ts";
import { CLK_TCK, cpuTicks, pssBytes, rssAnonBytes, rssBytes } from "./proc-stats.ts";

export interface PortRange {
  first: number;
  last: number;
}

export interface MembershipSample {
  /** spawn → every other node knows the newcomer (two joins per run). */
  joinMs: number[];
  /** spawn → the agent says it is up (D-SEF "edge node started", Serf "agent running"): start-up share of joinMs. */
  startMs: number[];
  /** up → every other node knows the newcomer: the protocol's share of joinMs. */
  joinFromUpMs: number[];
  crashFirstSuspectMs: number;
  crashAllDeadMs: number;
  /** How the first node to declare the crashed member dead decided it. */
  crashDeadReason?: string;
  silentFirstSuspectMs: number;
  silentAllDeadMs: number;
  idleCpuPct: number;
  idleCpuPctMax: number;
  rssMB: number;
  rssMBMax: number;
  /** Anonymous part of the RSS (not shared between nodes running the same executable). */
  rssAnonMB?: number;
  pssMB?: number;
  /** From the namespace's iptables counter: IP+UDP headers included. */
  udpBytesPerSec: number;
  /** D-SEF only: UDP payload bytes/s from the nodes' own /status counters. */
  udpPayloadBytesPerSec?: number;
  /** Members anyone declared dead (or suspected) during the idle window, when nobody failed. */
  idleFalseDeaths?: number;
  idleFalseSuspects?: number;
  idleWindowS?: number;
}

export interface Timings {
  /** Default: 5 s, or 60 s from 100 nodes on (forming that many leaves 30-60 s of gossip re-sends). */
  settleMs?: number;
  idleWindowMs: number;
  detectTimeoutMs: number;
  /** Print each detection's event timeline to stderr. */
  trace?: boolean;
}

export async function membershipRun(driver: Driver, n: number, ports: PortRange, t: Timings, launch: LaunchOptions): Promise<MembershipSample> {
  const c = new Cluster(driver, ports.first, ports.last, launch);
  try {
    await c.form(n - 1);
    const joinMs: number[] = [];
    const startMs: number[] = [];
    const joinFromUpMs: number[] = [];
    const join = async () => {
      const seed = c.live[Math.floor(Math.random() * c.live.length)]!;
      const a = c.spawn(seed);
      await c.waitViews([a], "alive", 30_000, `join of ${a.port}`);
      const known = c.lastReport(a, "alive", a.spawnedAt);
      joinMs.push(known - a.spawnedAt);
      if (a.upAt) {
        startMs.push(a.upAt - a.spawnedAt);
        joinFromUpMs.push(known - a.upAt);
      }
    };
    await join();

    await Bun.sleep(t.settleMs ?? (n >= 100 ? 60_000 : 5_000));
    const idleFrom = performance.now();
    const idle = await measureIdle(c, t.idleWindowMs);
    // Nobody failed during the idle window: any death or suspicion in it is a false one.
    const idleEvents = c.log.since(idleFrom);
    const falsely = (type: string) => new Set(idleEvents.filter((e) => e.type === type).map((e) => e.member)).size;

    const crash = await detect(c, "SIGKILL", t.detectTimeoutMs, t.trace);
    // Replace the crashed node so the silent failure is measured at size n as well.
    await join();
    await Bun.sleep(2000);
    const silent = await detect(c, "SIGSTOP", t.detectTimeoutMs, t.trace);

    return {
      joinMs,
      startMs,
      joinFromUpMs,
      crashFirstSuspectMs: crash.firstSuspectMs,
      crashAllDeadMs: crash.allDeadMs,
      crashDeadReason: crash.deadReason,
      silentFirstSuspectMs: silent.firstSuspectMs,
      silentAllDeadMs: silent.allDeadMs,
      ...idle,
      idleFalseDeaths: falsely("dead"),
      idleFalseSuspects: falsely("suspect-origin"),
      idleWindowS: t.idleWindowMs / 1000,
    };
  } finally {
    await c.stop();
  }
}

/** Kill (or freeze) a random non-seed agent; time to the first suspicion anywhere and to all survivors saying dead. */
async function detect(
  c: Cluster,
  signal: "SIGKILL" | "SIGSTOP",
  timeoutMs: number,
  trace = false,
): Promise<{ firstSuspectMs: number; allDeadMs: number; deadReason?: string }> {
  const victim = c.pickVictim();
  const t0 = c.kill(victim, signal);
  let allDeadMs = Number.NaN;
  try {
    await c.waitViews([victim], "dead", timeoutMs, `${signal} detection of ${victim.port}`);
    allDeadMs = c.lastReport(victim, "dead", t0) - t0;
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
  }
  const s = c.log.first(victim.port, ["suspect", "suspect-origin", "dead"], t0);
  if (signal === "SIGSTOP") victim.proc.kill("SIGKILL");
  if (trace) {
    const lines = c.log.since(t0).filter((e) => e.member === victim.port && e.type !== "alive");
    process.stderr.write(
      `\n  ${c.driver.name} ${signal} ${victim.port}:\n${lines.map((e) => `    +${Math.round(e.at - t0)} ms ${e.observer} ${e.type}${e.reason ? ` (${e.reason})` : ""}`).join("\n")}\n`,
    );
  }
  const declared = c.log.events.find((e) => e.at >= t0 && e.member === victim.port && e.type === "dead" && e.reason !== undefined);
  return { firstSuspectMs: s ? s.at - t0 : Number.NaN, allDeadMs, deadReason: declared?.reason };
}

/** CPU, memory and UDP traffic of an idle, converged cluster over a window. */
async function measureIdle(c: Cluster, windowMs: number) {
  const agents = c.live;
  const ticks0 = agents.map((a) => cpuTicks(a.proc.pid!) ?? Number.NaN);
  const udp0 = udpBytesOut();
  const payload0 = c.driver.name === "dsef" ? await payloadBytes(agents) : undefined;
  const t0 = performance.now();
  await Bun.sleep(windowMs);
  const secs = (performance.now() - t0) / 1000;
  const udp1 = udpBytesOut();
  const payload1 = c.driver.name === "dsef" ? await payloadBytes(agents) : undefined;
  const cpu = agents.map((a, i) => (((cpuTicks(a.proc.pid!) ?? Number.NaN) - ticks0[i]!) / CLK_TCK / secs) * 100);
  const rss = agents.map((a) => (rssBytes(a.proc.pid!) ?? Number.NaN) / 2 ** 20);
  const anon = agents.map((a) => (rssAnonBytes(a.proc.pid!) ?? Number.NaN) / 2 ** 20);
  const pss = agents.map((a) => (pssBytes(a.proc.pid!) ?? Number.NaN) / 2 ** 20);
  return {
    idleCpuPct: avg(cpu),
    idleCpuPctMax: Math.max(...cpu),
    rssMB: avg(rss),
    rssMBMax: Math.max(...rss),
    rssAnonMB: avg(anon),
    pssMB: avg(pss),
    udpBytesPerSec: (udp1 - udp0) / secs / agents.length,
    udpPayloadBytesPerSec: payload0 !== undefined && payload1 !== undefined ? (payload1 - payload0) / secs / agents.length : undefined,
  };
}

/** Sum of the nodes' own UDP bytesOut counters (GET /status). */
async function payloadBytes(agents: Agent[]): Promise<number> {
  const all = await Promise.all(
    agents.map(
      async (a) =>
        ((await (await fetch(`${a.url}/status`, { signal: AbortSignal.timeout(3000) })).json()) as { transport?: { bytesOut?: number } }).transport?.bytesOut ??
        0,
    ),
  );
  return all.reduce((a, b) => a + b, 0);
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export interface LossSample {
  lossPct: number;
  durationS: number;
  /** Members declared dead by anyone (none were actually down). */
  falseDeadMembers: number;
  /** Dead reports across all observers. */
  deadReports: number;
  /** Suspicions raised by a node's own failed probe. */
  suspicions: number;
  refutations: number;
  /** Serf only: probes that failed over UDP but succeeded over its TCP fallback. */
  tcpFallbacks: number;
  /** UDP sent per node per second during the loss (iptables counter, headers included). */
  udpBytesPerSec: number;
  /** Everyone alive in every view again shortly after the loss ended. */
  healed: boolean;
}

/** N nodes, then drop a fraction of all UDP datagrams for a while: nobody should die. */
export async function lossRun(
  driver: Driver,
  n: number,
  lossPct: number,
  durationMs: number,
  ports: PortRange,
  launch: LaunchOptions,
  trace = false,
): Promise<LossSample> {
  const c = new Cluster(driver, ports.first, ports.last, launch);
  const p = lossPct / 100;
  try {
    await c.form(n);
    await Bun.sleep(3000);
    const t0 = performance.now();
    const udp0 = udpBytesOut();
    addUdpLoss(p);
    try {
      await Bun.sleep(durationMs);
    } finally {
      removeUdpLoss(p);
    }
    const udpBytesPerSec = (udpBytesOut() - udp0) / ((performance.now() - t0) / 1000) / c.live.length;
    let healed = true;
    try {
      await c.waitViews(c.live, "alive", 30_000, "recovery after loss");
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      healed = false;
    }
    const ev = c.log.since(t0);
    const dead = ev.filter((e) => e.type === "dead");
    if (trace) {
      for (const m of new Set(dead.map((e) => e.member))) {
        const lines = ev.filter((e) => e.member === m && e.type !== "alive" && e.type !== "tcp-fallback");
        process.stderr.write(
          `\n  ${driver.name} false death of ${m}:\n${lines.map((e) => `    +${Math.round(e.at - t0)} ms ${e.observer} ${e.type}${e.reason ? ` (${e.reason})` : ""}`).join("\n")}\n`,
        );
      }
    }
    return {
      lossPct,
      durationS: durationMs / 1000,
      falseDeadMembers: new Set(dead.map((e) => e.member)).size,
      deadReports: dead.length,
      suspicions: ev.filter((e) => e.type === "suspect-origin").length,
      refutations: ev.filter((e) => e.type === "refuted").length,
      tcpFallbacks: ev.filter((e) => e.type === "tcp-fallback").length,
      udpBytesPerSec,
      healed,
    };
  } finally {
    await c.stop();
  }
}
