import { Swim } from "../membership/swim.ts";
import { profiles, type Timing } from "../membership/timing.ts";
import type { Effect, Input, MemberEvent, MemberSnapshot, MemberState, NodeInfo, Output } from "../membership/types.ts";
import { encodedSize } from "../wire/codec.ts";
import { seededRandom } from "../util/random.ts";
import { type NetworkConditions, SimNetwork } from "./sim-network.ts";
import { VirtualClock } from "./virtual-clock.ts";

/** up: running; paused: SIGSTOP (datagrams queue up, ports still accept); crashed: process gone. */
export type NodeStatus = "up" | "paused" | "crashed";

export interface SimNode {
  readonly index: number;
  readonly id: string;
  swim: Swim;
  status: NodeStatus;
  nextWake: number;
  /** Datagrams that arrived while paused, delivered on resume (the kernel's socket buffer). */
  backlog: Input[];
}

export interface ObservedEvent {
  readonly observer: number;
  readonly event: MemberEvent;
}

export interface SimOptions {
  n: number;
  seed: number;
  timing?: Partial<Timing>;
  network?: Partial<NetworkConditions>;
  /** Start with every node already knowing every other (skip the join phase). */
  preload?: boolean;
  /** Without preload: node i joins node 0 at i × joinSpreadMs. */
  joinSpreadMs?: number;
}

/** How long a sync waits for a silent peer before giving up. */
const SYNC_TIMEOUT_MS = 3000;
const SOCKET_BUFFER = 256;

/**
 * Deterministic cluster simulation: many Swim cores on one virtual clock and one simulated
 * network, driven exactly as the real runtime drives one. Same seed, same run.
 */
export class SimCluster {
  readonly clock = new VirtualClock();
  readonly network: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly timing: Timing;
  readonly random: () => number;
  #listeners: ((e: ObservedEvent) => void)[] = [];
  #byAddress = new Map<string, number>();

  constructor(readonly opts: SimOptions) {
    this.random = seededRandom(opts.seed);
    this.network = new SimNetwork(seededRandom(opts.seed ^ 0x5eed), opts.network);
    this.timing = { ...profiles.lan, ...opts.timing };
    const everyone: MemberSnapshot[] = [];
    for (let i = 0; i < opts.n; i++) {
      this.#byAddress.set(gossipOf(i), i);
      this.#byAddress.set(httpOf(i), i);
      everyone.push({ info: infoOf(i), state: "alive", incarnation: 0 });
    }
    for (let i = 0; i < opts.n; i++) {
      const swim = this.#newSwim(i, 0, opts.preload ? everyone : undefined);
      this.nodes.push({ index: i, id: idOf(i), swim, status: "up", nextWake: Number.POSITIVE_INFINITY, backlog: [] });
    }
    if (opts.preload) {
      for (const n of this.nodes) this.#input(n, { type: "tick" });
    } else {
      this.#input(this.nodes[0]!, { type: "tick" });
      for (const n of this.nodes.slice(1)) this.clock.at(n.index * (opts.joinSpreadMs ?? 10), () => this.#join(n));
    }
  }

  onEvent(fn: (e: ObservedEvent) => void): void {
    this.#listeners.push(fn);
  }

  get now(): number {
    return this.clock.now;
  }

  /** Advance virtual time by `ms`. */
  run(ms: number): void {
    this.clock.runUntil(this.clock.now + ms);
  }

  /** Run in steps until `cond` holds; returns the virtual time it took, or undefined. */
  runUntil(cond: () => boolean, maxMs: number, stepMs = 50): number | undefined {
    const start = this.clock.now;
    while (this.clock.now - start <= maxMs) {
      if (cond()) return this.clock.now - start;
      this.run(stepMs);
    }
    return undefined;
  }

  crash(i: number): void {
    const n = this.nodes[i]!;
    n.status = "crashed";
    n.backlog = [];
  }

  pause(i: number): void {
    this.nodes[i]!.status = "paused";
  }

  resume(i: number): void {
    const n = this.nodes[i]!;
    n.status = "up";
    const queued = n.backlog;
    n.backlog = [];
    this.#input(n, { type: "tick" });
    for (const input of queued) this.#input(n, input);
  }

  /** A crashed node starts again with the same identity and joins through a random live node. */
  restart(i: number): void {
    const n = this.nodes[i]!;
    n.swim = this.#newSwim(i, this.clock.now);
    n.status = "up";
    n.nextWake = Number.POSITIVE_INFINITY;
    this.#join(n);
  }

  leave(i: number): void {
    this.#input(this.nodes[i]!, { type: "leave" });
  }

  /** What `observer` believes about `target`. */
  stateOf(observer: number, target: number): MemberState | undefined {
    return this.nodes[observer]!.swim.member(idOf(target))?.state;
  }

  /** Indices of nodes that are up. */
  upNodes(): number[] {
    return this.nodes.filter((n) => n.status === "up").map((n) => n.index);
  }

  /** Does every up node (other than the target) hold `target` in `state`? */
  allSee(target: number, state: MemberState, observers = this.upNodes()): boolean {
    return observers.every((o) => o === target || this.stateOf(o, target) === state);
  }

  #newSwim(i: number, now: number, initialMembers?: MemberSnapshot[]): Swim {
    return new Swim({
      self: infoOf(i),
      initialMembers,
      timing: this.timing,
      random: seededRandom(this.opts.seed * 7919 + i * 104729 + now),
      sizeOf: encodedSize,
      initialIncarnation: Math.floor(now / 1000),
      now,
    });
  }

  #join(n: SimNode): void {
    const seeds = this.upNodes().filter((i) => i !== n.index);
    const seed = seeds.includes(0) ? 0 : seeds[Math.floor(this.random() * seeds.length)];
    this.#input(n, { type: "tick" });
    if (seed !== undefined) this.#perform(n, { type: "sync", target: idOf(seed), http: httpOf(seed), members: n.swim.snapshot() }, true);
  }

  #input(n: SimNode, input: Input): void {
    if (n.status === "crashed") return;
    if (n.status === "paused") {
      if (input.type === "message" && n.backlog.length < SOCKET_BUFFER) n.backlog.push(input);
      return;
    }
    this.#apply(n, n.swim.handle(this.clock.now, input));
  }

  #apply(n: SimNode, out: Output): void {
    for (const s of out.send) {
      const to = this.#byAddress.get(s.to);
      if (to === undefined) continue;
      const delay = this.network.datagramDelay(n.index, to);
      if (delay === undefined) continue;
      const target = this.nodes[to]!;
      const source = gossipOf(n.index);
      this.clock.after(delay, () => this.#input(target, { type: "message", source, message: s.message }));
    }
    for (const e of out.effects) this.#perform(n, e);
    for (const event of out.events) for (const fn of this.#listeners) fn({ observer: n.index, event });
    if (out.wakeAt !== n.nextWake && Number.isFinite(out.wakeAt)) {
      n.nextWake = out.wakeAt;
      const swim = n.swim;
      this.clock.at(out.wakeAt, () => {
        if (n.nextWake === out.wakeAt && n.swim === swim) {
          n.nextWake = Number.POSITIVE_INFINITY;
          this.#input(n, { type: "tick" });
        }
      });
    }
  }

  #perform(n: SimNode, e: Effect, join = false): void {
    const to = this.#byAddress.get(e.http);
    if (to === undefined) return;
    const target = this.nodes[to]!;
    const reachable = this.network.canReach(n.index, to);
    const swim = n.swim;
    const reply = (delay: number, input: Input) => this.clock.after(delay, () => n.swim === swim && this.#input(n, input));
    switch (e.type) {
      case "check-http": {
        // A crashed process on a reachable host refuses; a paused one accepts the connection (the
        // kernel does) but never answers; a lost segment makes TCP miss the deadline.
        const silent = { type: "http-check", target: e.target, result: "silent" } as const;
        if (!reachable || target.status === "paused") return reply(e.timeoutMs, silent);
        if (target.status === "up" && !this.network.tcpExchangeInTime(n.index, to)) return reply(e.timeoutMs, silent);
        return reply(2 * this.network.latency(), { type: "http-check", target: e.target, result: target.status === "crashed" ? "refused" : "answered" });
      }
      case "sync": {
        if (!reachable || target.status !== "up") return reply(SYNC_TIMEOUT_MS, { type: "sync-failed", target: e.target });
        const there = this.network.latency();
        this.clock.after(there, () => {
          if (target.status !== "up") return reply(SYNC_TIMEOUT_MS, { type: "sync-failed", target: e.target });
          this.#apply(target, target.swim.handle(this.clock.now, { type: "sync", members: e.members, join }));
          const members = target.swim.snapshot();
          reply(this.network.latency(), { type: "sync", members, join });
        });
        return;
      }
    }
  }
}

export const idOf = (i: number) => `n${i}`;
const infoOf = (i: number): NodeInfo => ({ id: idOf(i), name: `node-${i}`, gossip: gossipOf(i), http: httpOf(i), capacity: 1000 });
const gossipOf = (i: number) => `10.0.${i >> 8}.${i & 255}:7946`;
const httpOf = (i: number) => `10.0.${i >> 8}.${i & 255}:5000`;
