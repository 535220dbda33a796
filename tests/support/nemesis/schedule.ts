/**
 * The nemesis's fault schedule: a pure function of a seed and a profile, so a failing run is
 * replayed exactly by setting its seed. Faults run one at a time: a fault, its heal, the wait
 * for one cluster, a calm gap, the next fault. Node names are fixed here too (n0..n4 at the
 * start, newcomers n5, n6, ...), so targets are part of the schedule, not picked at run time.
 */
import { seededRandom } from "../../../src/util/random.ts";
import { shuffle } from "../../../src/util/shuffle.ts";

export const FAULT_KINDS = ["kill", "pause", "leave", "newcomer", "loss", "partition"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Faults that need iptables in a network namespace of our own. */
export const NETWORK_FAULTS: readonly FaultKind[] = ["loss", "partition"];

export interface Range {
  min: number;
  max: number;
}

export interface Profile {
  name: string;
  /** Nodes at the start (the issue asks for at least 5). */
  nodes: number;
  /** Promised capacity of each starting node, cycled; newcomers take the first. */
  capacities: number[];
  /** Faults in the run; the first FAULT_KINDS.length are one of each kind, in seeded order. */
  faults: number;
  /** Never more node processes than this (newcomers stop being scheduled at the cap). */
  maxNodes: number;
  /** Quiet time after the cluster is whole again, before the next fault. */
  calmMs: Range;
  /** How long each kind of fault lasts before it is healed (downtime, pause, burst, split). */
  durationMs: Record<Exclude<FaultKind, "newcomer">, Range>;
  /** UDP loss probability during a loss burst. */
  lossRate: Range;
  /** ESP simulator load: devices, seconds between packets per device, units per packet. */
  esp: { devices: number; intervalS: number; minLoad: number; maxLoad: number };
  /** How often the checker reads /peers and /status of every node. */
  pollMs: number;
}

export const PROFILES: Record<"short" | "long", Profile> = {
  // CI: one fault of each kind, about two minutes with the waits for convergence.
  short: {
    name: "short",
    nodes: 5,
    capacities: [1000, 800, 500, 600, 600],
    faults: FAULT_KINDS.length,
    maxNodes: 6,
    calmMs: { min: 2000, max: 4000 },
    durationMs: {
      kill: { min: 1000, max: 5000 },
      pause: { min: 1000, max: 10_000 },
      leave: { min: 1000, max: 5000 },
      loss: { min: 5000, max: 10_000 },
      partition: { min: 8000, max: 14_000 },
    },
    lossRate: { min: 0.1, max: 0.3 },
    esp: { devices: 20, intervalS: 0.5, minLoad: 10, maxLoad: 100 },
    pollMs: 400,
  },
  // Benchmarks: many faults of every kind, ten minutes and more.
  long: {
    name: "long",
    nodes: 5,
    capacities: [1000, 800, 500, 600, 600],
    faults: 48,
    maxNodes: 8,
    calmMs: { min: 2000, max: 6000 },
    durationMs: {
      kill: { min: 1000, max: 8000 },
      pause: { min: 1000, max: 15_000 },
      leave: { min: 1000, max: 8000 },
      loss: { min: 5000, max: 20_000 },
      partition: { min: 8000, max: 20_000 },
    },
    lossRate: { min: 0.1, max: 0.3 },
    esp: { devices: 20, intervalS: 0.5, minLoad: 10, maxLoad: 100 },
    pollMs: 400,
  },
};

export type Fault =
  | { kind: "kill" | "pause" | "leave"; target: string; durationMs: number }
  | { kind: "newcomer"; name: string; through: string }
  | { kind: "loss"; rate: number; durationMs: number }
  | { kind: "partition"; sides: [string[], string[]]; durationMs: number };

export interface Step {
  index: number;
  fault: Fault;
  /** Calm time after the cluster is whole again. */
  calmMs: number;
}

export const nodeName = (i: number) => `n${i}`;

/** The whole run's faults from a seed. */
export function makeSchedule(seed: number, p: Profile): Step[] {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const within = (r: Range) => Math.round(r.min + random() * (r.max - r.min));
  const members = Array.from({ length: p.nodes }, (_, i) => nodeName(i));

  // One of each kind first (seeded order), then kinds drawn at random.
  const kinds: FaultKind[] = shuffle([...FAULT_KINDS], random);
  while (kinds.length < p.faults) kinds.push(pick(FAULT_KINDS));

  return kinds.slice(0, p.faults).map((k, index) => {
    let kind = k;
    if (kind === "newcomer" && members.length >= p.maxNodes) kind = "kill";
    let fault: Fault;
    switch (kind) {
      case "kill":
      case "pause":
      case "leave":
        fault = { kind, target: pick(members), durationMs: within(p.durationMs[kind]) };
        break;
      case "newcomer": {
        const name = nodeName(members.length);
        fault = { kind, name, through: pick(members) };
        members.push(name);
        break;
      }
      case "loss":
        fault = { kind, rate: Math.round((p.lossRate.min + random() * (p.lossRate.max - p.lossRate.min)) * 100) / 100, durationMs: within(p.durationMs.loss) };
        break;
      case "partition": {
        // A minority of 1..floor(n/2) nodes cut off from the rest, both ways, UDP and TCP.
        const shuffled = shuffle([...members], random);
        const size = 1 + Math.floor(random() * Math.floor(members.length / 2));
        fault = { kind, sides: [shuffled.slice(0, size).sort(), shuffled.slice(size).sort()], durationMs: within(p.durationMs.partition) };
        break;
      }
    }
    return { index, fault, calmMs: within(p.calmMs) };
  });
}

/** One line per fault, for the timeline and the run's header. */
export function describeFault(f: Fault): string {
  switch (f.kind) {
    case "kill":
      return `kill -9 ${f.target}, restart after ${(f.durationMs / 1000).toFixed(1)} s`;
    case "pause":
      return `SIGSTOP ${f.target}, SIGCONT after ${(f.durationMs / 1000).toFixed(1)} s`;
    case "leave":
      return `SIGTERM ${f.target} (graceful leave), rejoin after ${(f.durationMs / 1000).toFixed(1)} s`;
    case "newcomer":
      return `newcomer ${f.name} joins through ${f.through}`;
    case "loss":
      return `UDP loss ${Math.round(f.rate * 100)} % for ${(f.durationMs / 1000).toFixed(1)} s`;
    case "partition":
      return `partition {${f.sides[0].join(",")}} | {${f.sides[1].join(",")}} for ${(f.durationMs / 1000).toFixed(1)} s`;
  }
}

/** Every node name the schedule ever uses, in order (the starting nodes, then newcomers). */
export function allNodeNames(steps: readonly Step[], p: Profile): string[] {
  const names = Array.from({ length: p.nodes }, (_, i) => nodeName(i));
  for (const s of steps) if (s.fault.kind === "newcomer") names.push(s.fault.name);
  return names;
}
