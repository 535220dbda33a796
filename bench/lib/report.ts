/** Print the benchmark's figures as plain tables, with our/serf ratios and the issue's targets. */
import type { SystemName } from "./agents.ts";
import type { LossSample, MembershipSample } from "./scenarios.ts";
import { median, summary } from "./stats.ts";

export type Results = Map<number, Partial<Record<SystemName, MembershipSample[]>>>;

const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);
const pct = (x: number) => `${x.toFixed(2)} %`;
const mb = (x: number) => `${x.toFixed(1)} MB`;
const bps = (x: number) => `${Math.round(x)} B/s`;

interface Row {
  label: string;
  pick: (s: MembershipSample) => number[];
  fmt: (x: number) => string;
  /** Verdict for D-SEF given both medians (serf may be NaN). */
  target?: (ours: number, serf: number, serfAll: MembershipSample[]) => string | undefined;
}

const ratioTarget = (limit: number) => (o: number, s: number) => (Number.isFinite(s) ? `≤ ${limit}× serf: ${o <= limit * s ? "met" : "MISSED"}` : undefined);

function rows(n: number): Row[] {
  return [
    { label: "join: spawn → all know", pick: (s) => s.joinMs, fmt: ms, target: ratioTarget(1) },
    { label: "  spawn → up (process start)", pick: (s) => s.startMs, fmt: ms },
    { label: "  up → all know (protocol)", pick: (s) => s.joinFromUpMs, fmt: ms },
    { label: "crash: kill -9 → first suspect", pick: (s) => [s.crashFirstSuspectMs], fmt: ms },
    {
      label: "crash: kill -9 → all say dead",
      pick: (s) => [s.crashAllDeadMs],
      fmt: ms,
      target: n === 10 || n === 50 ? ratioTarget(0.5) : undefined,
    },
    { label: "silent: SIGSTOP → first suspect", pick: (s) => [s.silentFirstSuspectMs], fmt: ms },
    {
      label: "silent: SIGSTOP → all say dead",
      pick: (s) => [s.silentAllDeadMs],
      fmt: ms,
      target: (o, _s, serfAll) => {
        const serfCrash = median(serfAll.map((x) => x.crashAllDeadMs));
        return Number.isFinite(serfCrash) ? `≤ serf crash (${ms(serfCrash)}): ${o <= serfCrash ? "met" : "MISSED"}` : undefined;
      },
    },
    { label: "idle CPU per node (mean)", pick: (s) => [s.idleCpuPct], fmt: pct, target: ratioTarget(1) },
    { label: "idle CPU per node (max)", pick: (s) => [s.idleCpuPctMax], fmt: pct },
    { label: "RSS per node (mean)", pick: (s) => [s.rssMB], fmt: mb, target: (o) => `≤ 52 MB: ${o <= 52 ? "met" : "MISSED"}` },
    { label: "RSS per node (max)", pick: (s) => [s.rssMBMax], fmt: mb },
    { label: "  of which anonymous", pick: (s) => (s.rssAnonMB === undefined ? [] : [s.rssAnonMB]), fmt: mb },
    { label: "PSS per node (shared pages split)", pick: (s) => (s.pssMB === undefined ? [] : [s.pssMB]), fmt: mb },
    { label: "UDP out per node (iptables)", pick: (s) => [s.udpBytesPerSec], fmt: bps, target: ratioTarget(1.5) },
    { label: "  UDP payload (node /status)", pick: (s) => (s.udpPayloadBytesPerSec === undefined ? [] : [s.udpPayloadBytesPerSec]), fmt: bps },
    {
      label: "idle window: false deaths (members)",
      pick: (s) => (s.idleFalseDeaths === undefined ? [] : [s.idleFalseDeaths]),
      fmt: (v) => String(v),
      target: (o) => `0: ${o === 0 ? "met" : "MISSED"}`,
    },
    { label: "idle window: own suspicions (members)", pick: (s) => (s.idleFalseSuspects === undefined ? [] : [s.idleFalseSuspects]), fmt: (v) => String(v) },
  ];
}

export function printMembership(results: Results): void {
  for (const [n, bySys] of results) {
    const ours = bySys.dsef ?? [];
    const theirs = bySys.serf ?? [];
    const withSerf = theirs.length > 0;
    console.log(`\nN = ${n}  (${ours.length} run${ours.length === 1 ? "" : "s"}; median (min–max))`);
    const header = ["metric", "dsef", ...(withSerf ? ["serf", "dsef/serf", "target"] : [])];
    const table: string[][] = [header];
    for (const r of rows(n)) {
      const o = ours.flatMap(r.pick);
      const s = theirs.flatMap(r.pick);
      if (o.length === 0 && s.length === 0) continue;
      const om = median(o);
      const sm = median(s);
      const line = [r.label, summary(o, r.fmt)];
      if (withSerf) {
        line.push(summary(s, r.fmt), Number.isFinite(om / sm) && s.length ? (om / sm).toFixed(2) : "", r.target?.(om, sm, theirs) ?? "");
      } else if (r.label.startsWith("RSS per node (mean)")) {
        line.push(r.target?.(om, Number.NaN, []) ?? "");
      }
      table.push(line);
    }
    printTable(table);
    for (const [sys, samples] of [
      ["dsef", ours],
      ["serf", theirs],
    ] as const) {
      const reasons = new Map<string, number>();
      for (const x of samples) if (x.crashDeadReason) reasons.set(x.crashDeadReason, (reasons.get(x.crashDeadReason) ?? 0) + 1);
      if (reasons.size) console.log(`${sys} crash declared dead by: ${[...reasons].map(([r, k]) => `${r} ×${k}`).join(", ")}`);
    }
  }
}

export function printLoss(samples: { system: SystemName; n: number; sample: LossSample }[]): void {
  if (samples.length === 0) return;
  console.log("\nFalse-death check: UDP loss inside the benchmark's namespace (iptables statistic DROP on INPUT)");
  const table = [
    ["system", "N", "loss", "duration", "false deaths (members)", "dead reports", "suspicions", "refutations", "serf TCP fallbacks", "UDP out/node", "healed"],
  ];
  for (const { system, n, sample: s } of samples) {
    table.push([
      system,
      String(n),
      `${s.lossPct} %`,
      `${s.durationS} s`,
      String(s.falseDeadMembers),
      String(s.deadReports),
      String(s.suspicions),
      String(s.refutations),
      system === "serf" ? String(s.tcpFallbacks) : "-",
      bps(s.udpBytesPerSec),
      s.healed ? "yes" : "NO",
    ]);
  }
  printTable(table);
  const bad = samples.filter((x) => x.system === "dsef" && x.sample.falseDeadMembers > 0);
  console.log(`target (dsef): zero false deaths at every loss rate: ${bad.length === 0 ? "met" : "MISSED"}`);
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
}
