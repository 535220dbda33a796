/**
 * The soak's invariants, checked on every poll round (pure: the engine feeds it what it read
 * from every node's /peers and /status, and tells it when faults start and end).
 *
 *   one cluster      after each fault heals, every running node is ready and lists every other
 *                    running node alive, within the fault kind's bound
 *   no false deaths  no node lists a node dead or left unless that node (or the link between
 *                    the two, in a partition) is under a fault, from its start until the cluster
 *                    is whole again (after a partition heals, a node suspected or declared dead
 *                    across the cut may be seen dead on its own side until its refutation arrives)
 *   load known       every node lists every live peer's load as that peer published it within
 *                    the last `loadBoundMs` (two probe periods and a poll), except for a settling
 *                    time after a (re)join or a network fault
 *   no schema drops  no datagram, piggybacked update or member-table entry between these honest
 *                    nodes is dropped as malformed
 */
import type { PeerRow } from "../processes.ts";
import type { Fault, FaultKind } from "./schedule.ts";

export interface Counters {
  schema: number;
  malformed: number;
  updatesDropped: number;
  entriesDropped: number;
}

/** What one node answered in one round (undefined fields: it did not answer). */
export interface NodeReading {
  name: string;
  /** Restart count: counters start again at 0 in a new process. */
  generation: number;
  peers?: PeerRow[];
  ready?: boolean;
  counters?: Counters;
}

export const INVARIANTS = ["one cluster", "no false deaths", "load known", "no schema drops", "no packet lost"] as const;
export type Invariant = (typeof INVARIANTS)[number];

export interface Violation {
  invariant: Invariant;
  /** Run clock (ms since the run started) when first seen, and last seen. */
  at: number;
  lastAt: number;
  text: string;
}

export interface TimelineEntry {
  at: number;
  text: string;
}

export interface CheckerOptions {
  probeMs: number;
  pollMs: number;
  /** Bound for a node's figure of a peer's load to match what the peer published. */
  loadBoundMs: number;
  /** After a (re)join or a network fault heals, load figures are not checked for this long. */
  loadSettleMs: number;
}

const FOREVER = Number.POSITIVE_INFINITY;
/** Timeline lines per invariant before the rest are only counted. */
const TIMELINE_PER_INVARIANT = 25;

export class Checker {
  readonly violations: Violation[] = [];
  readonly timeline: TimelineEntry[] = [];
  /** Convergence time after each fault heals, by kind. */
  readonly convergeMs: { kind: FaultKind; ms: number; bound: number }[] = [];
  /** Time from a load figure appearing on its node to a peer listing it. */
  readonly loadLagMs: number[] = [];
  rounds = 0;
  checkedLoadPairs = 0;

  /** Every node ever started; /peers rows are matched by member name (each node runs with --name). */
  #names = new Set<string>();
  /** Nodes whose process runs and is not stopped: they are expected in every view. */
  #up = new Set<string>();
  /** A node under a fault may be seen dead or left (until the cluster is whole again). */
  #faulted = new Set<string>();
  /** Pairs (both orders) that may see each other dead: a partition's cut. */
  #cut = new Set<string>();
  /** Nodes seen suspect or dead across the cut during this partition. */
  #doubtedAcross = new Set<string>();
  #healed = false;
  /** Load figures are not checked for pairs involving these nodes until the time given. */
  #loadExempt = new Map<string, number>();
  #loadExemptAll = 0;
  #open = new Map<string, Violation>();
  /** Each node's own published figures, as observed: [time, value]. */
  #figures = new Map<string, [number, number][]>();
  /** Per observer and peer: the latest figure index seen, to measure lag once per figure. */
  #seen = new Map<string, number>();
  #counters = new Map<string, { generation: number; c: Counters }>();
  #whole = false;
  #wholeAt = 0;
  #dropTotals = new Map<string, number>();
  #shown = new Map<Invariant, number>();
  /** Load pairs behind in the previous round. */
  #behind = new Set<string>();

  constructor(private readonly o: CheckerOptions) {}

  // ---- what the engine tells it ----

  nodeStarted(at: number, name: string): void {
    this.#names.add(name);
    this.#up.add(name);
    this.#loadExempt.set(name, FOREVER);
    this.#whole = false;
    void at;
  }

  nodeDown(name: string): void {
    this.#up.delete(name);
    this.#whole = false;
  }

  nodeResumed(name: string): void {
    this.#up.add(name);
    this.#whole = false;
  }

  faultStarted(at: number, f: Fault): void {
    switch (f.kind) {
      case "kill":
      case "pause":
      case "leave":
        this.#faulted.add(f.target);
        this.#loadExempt.set(f.target, FOREVER);
        break;
      case "newcomer":
        break; // nodeStarted exempts its load until the cluster is whole
      case "loss":
        this.#loadExemptAll = FOREVER;
        break;
      case "partition":
        for (const a of f.sides[0]) for (const b of f.sides[1]) this.#cut.add(`${a}|${b}`).add(`${b}|${a}`);
        this.#loadExemptAll = FOREVER;
        break;
    }
    this.#whole = false;
    void at;
  }

  /** The fault's heal was applied (a partition's rules removed, a node restarted or resumed). */
  faultHealed(): void {
    this.#healed = true;
  }

  /** The cluster is whole again after a fault: clear its excuses, let load settle. */
  faultEnded(at: number): void {
    this.#faulted.clear();
    this.#cut.clear();
    this.#doubtedAcross.clear();
    this.#healed = false;
    const settled = at + this.o.loadSettleMs;
    if (this.#loadExemptAll === FOREVER) this.#loadExemptAll = settled;
    for (const [n, until] of this.#loadExempt) if (until === FOREVER) this.#loadExempt.set(n, settled);
  }

  note(at: number, text: string): void {
    this.timeline.push({ at, text });
  }

  /** Record a violation found outside the rounds (e.g. the packet check at the end). */
  fail(at: number, invariant: Invariant, text: string): void {
    const v = { invariant, at, lastAt: at, text };
    this.violations.push(v);
    this.#show(at, invariant, `VIOLATION ${invariant}: ${text}`);
  }

  recordConvergence(kind: FaultKind, ms: number, bound: number): void {
    this.convergeMs.push({ kind, ms, bound });
  }

  /** Since when (run clock) the cluster has been whole, or undefined. */
  get wholeSince(): number | undefined {
    return this.#whole ? this.#wholeAt : undefined;
  }

  // ---- one poll round ----

  round(at: number, readings: NodeReading[]): void {
    this.rounds++;
    const byName = new Map(readings.map((r) => [r.name, r]));
    this.#recordFigures(at, readings);
    this.#checkDeaths(at, readings);
    this.#checkLoad(at, byName);
    this.#checkCounters(at, readings);
    this.#checkWhole(at, byName);
  }

  #recordFigures(at: number, readings: NodeReading[]): void {
    for (const r of readings) {
      const own = r.peers?.find((p) => p.self)?.current_load;
      if (own === undefined) continue;
      const h = this.#figures.get(r.name) ?? [];
      if (h.length === 0 || h[h.length - 1]![1] !== own) h.push([at, own]);
      if (h.length > 512) h.splice(0, h.length - 256);
      this.#figures.set(r.name, h);
    }
  }

  #checkDeaths(at: number, readings: NodeReading[]): void {
    const current = new Set<string>();
    const checked = new Set<string>();
    for (const r of readings) {
      for (const p of r.peers ?? []) {
        const target = this.#names.has(p.name) ? p.name : undefined;
        if (!target || target === r.name || this.#faulted.has(target)) continue;
        if (this.#cut.has(`${r.name}|${target}`)) {
          if (p.state !== "alive") this.#doubtedAcross.add(target);
          continue;
        }
        // A suspicion raised across the cut may mature into a death just after the heal, and the
        // news may reach the node's own side a moment before its refutation does.
        if (this.#healed && this.#doubtedAcross.has(target)) continue;
        const key = `death|${r.name}|${target}`;
        checked.add(key);
        if (p.state !== "dead" && p.state !== "left") continue;
        current.add(key);
        this.#raise(at, key, "no false deaths", `${r.name} lists ${target} as ${p.state}, though ${target} is under no fault`);
      }
    }
    this.#close(checked, current, at);
  }

  #checkLoad(at: number, byName: Map<string, NodeReading>): void {
    const current = new Set<string>();
    const checked = new Set<string>();
    const exempt = (n: string) => (this.#loadExempt.get(n) ?? 0) > at;
    if (this.#loadExemptAll <= at) {
      for (const [observer, r] of byName) {
        if (!r.peers || !this.#up.has(observer) || exempt(observer)) continue;
        for (const [peer, pr] of byName) {
          if (peer === observer || !pr.peers || !this.#up.has(peer) || exempt(peer)) continue;
          const h = this.#figures.get(peer);
          if (!h || h.length === 0) continue;
          const shown = r.peers.find((p) => p.name === peer)?.current_load;
          // The newest figure the peer already showed `loadBoundMs` ago: the observer must be at least there.
          let due = -1;
          for (let i = h.length - 1; i >= 0; i--)
            if (h[i]![0] <= at - this.o.loadBoundMs) {
              due = i;
              break;
            }
          let match = -1;
          if (shown !== undefined)
            for (let i = h.length - 1; i >= 0; i--)
              if (h[i]![1] === shown) {
                match = i;
                break;
              }
          const key = `load|${observer}|${peer}`;
          const seenKey = `${observer}|${peer}`;
          if (match >= 0 && match > (this.#seen.get(seenKey) ?? -1)) {
            // First time this observer shows this figure: how long after the peer did (figures
            // published while the pair was exempt, e.g. across a partition, are not lag).
            const checkedSince = Math.max(this.#loadExemptAll, this.#loadExempt.get(observer) ?? 0, this.#loadExempt.get(peer) ?? 0);
            if (this.#seen.has(seenKey) && h[match]![0] >= checkedSince) this.loadLagMs.push(at - h[match]![0]);
            this.#seen.set(seenKey, match);
          }
          if (due < 0) continue;
          this.checkedLoadPairs++;
          checked.add(key);
          if (match >= due) continue;
          current.add(key);
          // Two rounds in a row: a figure that lived shorter than a poll interval was never observed on its node.
          if (!this.#behind.has(key)) continue;
          const last = h[h.length - 1]![1];
          this.#raise(
            at,
            key,
            "load known",
            `${observer} lists ${peer}'s load as ${shown ?? "unknown"}; ${peer} publishes ${last} (a figure older than ${this.o.loadBoundMs} ms not yet seen)`,
          );
        }
      }
    }
    this.#behind = current;
    this.#close(checked, current, at);
  }

  #checkCounters(at: number, readings: NodeReading[]): void {
    for (const r of readings) {
      if (!r.counters) continue;
      const prev = this.#counters.get(r.name);
      const base = prev && prev.generation === r.generation ? prev.c : { schema: 0, malformed: 0, updatesDropped: 0, entriesDropped: 0 };
      const keys = Object.keys(base) as (keyof Counters)[];
      const grown = keys.reduce((n, k) => n + Math.max(0, r.counters![k] - base[k]), 0);
      this.#counters.set(r.name, { generation: r.generation, c: r.counters });
      if (grown === 0) continue;
      // One violation per node, its count kept up to date (a broken codec drops on every round).
      const total = (this.#dropTotals.get(r.name) ?? 0) + grown;
      this.#dropTotals.set(r.name, total);
      const kinds = keys.filter((k) => r.counters![k] > base[k]).join(", ");
      const text = `${r.name} dropped ${total} input(s) from honest nodes (${kinds})`;
      const open = this.#open.get(`drops|${r.name}`);
      if (open) {
        open.lastAt = at;
        open.text = text;
      } else this.#raise(at, `drops|${r.name}`, "no schema drops", text);
    }
  }

  #checkWhole(at: number, byName: Map<string, NodeReading>): void {
    const up = [...this.#up];
    const whole = up.every((o) => {
      const r = byName.get(o);
      return r?.ready === true && up.every((m) => r.peers?.some((p) => p.name === m && p.state === "alive"));
    });
    if (whole && !this.#whole) this.#wholeAt = at;
    this.#whole = whole;
  }

  /** Which running nodes do not yet see which, for a convergence timeout message. */
  gaps(readings: NodeReading[]): string {
    const up = [...this.#up];
    const out: string[] = [];
    for (const o of up) {
      const r = readings.find((x) => x.name === o);
      if (!r?.peers) {
        out.push(`${o} did not answer`);
        continue;
      }
      if (!r.ready) out.push(`${o} not ready`);
      for (const m of up) {
        const row = r.peers.find((p) => p.name === m);
        if (row?.state !== "alive") out.push(`${o} sees ${m} ${row?.state ?? "nowhere"}`);
      }
    }
    return out.slice(0, 12).join("; ");
  }

  #raise(at: number, key: string, invariant: Invariant, text: string): void {
    const open = this.#open.get(key);
    if (open) {
      open.lastAt = at;
      return;
    }
    const v: Violation = { invariant, at, lastAt: at, text };
    this.#open.set(key, v);
    this.violations.push(v);
    this.#show(at, invariant, `VIOLATION ${invariant}: ${text}`);
  }

  /** Close the violations that were checked this round and held. */
  #close(checked: Set<string>, current: Set<string>, at: number): void {
    for (const key of checked) {
      const v = this.#open.get(key);
      if (!v || current.has(key)) continue;
      this.#open.delete(key);
      this.#show(at, v.invariant, `  over after ${((at - v.at) / 1000).toFixed(1)} s: ${v.text}`);
    }
  }

  /** Timeline lines about violations, at most TIMELINE_PER_INVARIANT per invariant (all are counted). */
  #show(at: number, invariant: Invariant, text: string): void {
    const n = (this.#shown.get(invariant) ?? 0) + 1;
    this.#shown.set(invariant, n);
    if (n <= TIMELINE_PER_INVARIANT) this.timeline.push({ at, text });
    else if (n === TIMELINE_PER_INVARIANT + 1) this.timeline.push({ at, text: `(further lines about "${invariant}" not shown; see the verdicts)` });
  }
}
