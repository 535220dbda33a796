import { NodeDriver } from "../driver/node-driver.ts";
import type { NodeIo } from "../driver/node-io.ts";
import { signAlive } from "../identity/claims.ts";
import { type CheckOptions, CoreHistory, checkHead, checkMembers, checkNode, limitsFor, type Violation } from "../membership/invariants.ts";
import { MemberDirectory } from "../membership/member-directory.ts";
import type { Swim } from "../membership/swim.ts";
import { profiles, type Timing } from "../membership/timing.ts";
import type { Address, MemberEvent, MemberSnapshot, MemberState, ProtocolRange } from "../membership/types.ts";
import { seededRandom } from "../util/random.ts";
import { PROTOCOL } from "../wire/protocol.ts";
import { type NetworkConditions, SimNetwork } from "./sim-network.ts";
import { SimNode } from "./sim-node.ts";
import { securedParts, seededIdentity } from "./sim-security.ts";
import { VirtualClock } from "./virtual-clock.ts";

export { type NodeStatus, SimNode } from "./sim-node.ts";

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
  /**
   * Run secured, as nodes with this --cluster-key: every datagram sealed, every self-claim
   * signed by the node's own Ed25519 key (node ids are key fingerprints). The HTTP exchanges
   * (join handshake, authenticated /sync) are not simulated: snapshots pass as objects, and
   * their claims are checked by the receiving driver.
   */
  clusterKey?: string;
  /** Check the invariants after every step of every node (default true). */
  checkInvariants?: boolean;
  /**
   * The most members a table may hold, for the invariants' time bounds (a suspicion's timeout
   * grows with the cluster): default n. A byzantine member's invented identities add to it.
   */
  maxMembers?: number;
  /**
   * Share the warm start's member rows among all tables until one writes to its row (default
   * true). Off for tests that corrupt a row behind the core's back.
   */
  shareRows?: boolean;
  /** The protocol versions node i speaks, announced in its alive claim (default: this build's, as real nodes). */
  protocols?: (i: number) => ProtocolRange;
}

/**
 * Up to this many nodes every step checks the stepping node's whole table. Beyond, a step that
 * changed something (every change is an event) checks the node itself, its own row and the
 * members it changed, and the whole table is checked once every SWEEP_EVERY_MS of virtual time:
 * a full check per step would cost O(N) per step, O(N²) per probe round.
 */
const FULL_CHECK_MAX_NODES = 32;
const SWEEP_EVERY_MS = 30_000;
/** How often every running node is checked for a missed wake-up (a node never woken takes no step to check). */
const WAKE_CHECK_EVERY_MS = 1000;
/** How long a sync waits for a silent peer before giving up. */
const SYNC_TIMEOUT_MS = 3000;
const SOCKET_BUFFER = 256;

/** An invariant broke: names the seed and the first bad step, so the run can be replayed. */
export class InvariantViolation extends Error {
  constructor(
    readonly seed: number,
    readonly step: number,
    readonly at: number,
    readonly node: number,
    readonly violation: Violation,
  ) {
    super(`invariant "${violation.rule}" broken at step ${step} (virtual time ${at.toFixed(3)} ms) on node ${node}, seed ${seed}: ${violation.message}`);
  }
}

/**
 * Deterministic cluster simulation: one node driver per node (the same code a real node runs:
 * codec, packet guard, claim checks, dispatch, wake-ups) over a virtual clock and a simulated
 * network that carries the sealed bytes. Same seed, same run.
 */
export class SimCluster {
  readonly clock = new VirtualClock();
  readonly network: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly timing: Timing;
  readonly random: () => number;
  /** Steps of any node's core so far. */
  steps = 0;
  readonly #check: boolean;
  readonly #checkOptions: { -readonly [K in keyof CheckOptions]: CheckOptions[K] };
  #listeners: ((e: ObservedEvent) => void)[] = [];
  #stepListeners: ((n: SimNode) => void)[] = [];
  #byAddress = new Map<string, number>();
  #slotOf = new Map<string, number>();
  /** One for every node: members numbered once, and the warm start's rows shared until written. */
  readonly #directory: MemberDirectory;

  constructor(readonly opts: SimOptions) {
    this.random = seededRandom(opts.seed);
    this.network = new SimNetwork(seededRandom(opts.seed ^ 0x5eed), opts.network);
    this.timing = { ...profiles.lan, ...opts.timing };
    this.#directory = new MemberDirectory(true, opts.shareRows ?? true);
    this.#check = opts.checkInvariants ?? true;
    const slotOf = this.#slotOf;
    this.#checkOptions = {
      limits: limitsFor(this.timing, opts.maxMembers ?? opts.n),
      owner: (id) => {
        const slot = slotOf.get(id);
        return slot === undefined ? undefined : this.nodes[slot]!.owner;
      },
    };
    const keys = seededRandom(opts.seed ^ 0x1d);
    for (let i = 0; i < opts.n; i++) {
      const identity = opts.clusterKey ? seededIdentity(keys) : undefined;
      const id = identity?.id ?? `n${i}`;
      const protocol = opts.protocols?.(i) ?? PROTOCOL;
      const node = new SimNode(i, { id, name: `node-${i}`, gossip: gossipOf(i), http: httpOf(i), capacity: 1000, protocol }, identity);
      // Large clusters: whole-table sweeps spread over the sweep period, not all at once.
      node.nextSweepAt = Math.floor((i * SWEEP_EVERY_MS) / opts.n);
      this.nodes.push(node);
      this.#byAddress.set(gossipOf(i), i);
      this.#byAddress.set(httpOf(i), i);
      this.#slotOf.set(id, i);
      this.#directory.slotOf(id);
    }
    // Signed when secured, as a real table holds them (as far as the core keeps initial proofs).
    const everyone: MemberSnapshot[] = this.nodes.map((n) => ({
      info: n.info,
      state: "alive",
      incarnation: 0,
      ...(n.identity ? { proof: signAlive(n.identity, 0, n.info) } : {}),
    }));
    for (const n of this.nodes) n.driver = this.#newDriver(n, 0, opts.preload ? everyone : undefined);
    if (this.#check) this.clock.after(WAKE_CHECK_EVERY_MS, () => this.#checkWakeUps());
    if (opts.preload) {
      for (const n of this.nodes) n.driver.tick();
    } else {
      this.nodes[0]!.driver.tick();
      for (const n of this.nodes.slice(1)) this.clock.at(n.index * (opts.joinSpreadMs ?? 10), () => this.#join(n));
    }
  }

  onEvent(fn: (e: ObservedEvent) => void): void {
    this.#listeners.push(fn);
  }

  /** Called after every step of a node's core, after the built-in invariant checks (more checks hook in here). */
  onStep(fn: (n: SimNode) => void): void {
    this.#stepListeners.push(fn);
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
    n.driver.tick();
    for (const q of queued) n.driver.receive(q.source, q.datagram);
  }

  /**
   * A crashed node starts again and joins through a random live node: with the same identity,
   * or (`newKey`) with a fresh one at the same address, as after losing its data dir.
   */
  restart(i: number, opts: { newKey?: boolean } = {}): void {
    const old = this.nodes[i]!;
    old.driver.stop();
    const n = opts.newKey ? this.#rekeyed(old) : old;
    if (n === old) {
      n.mintedBefore = n.owner.incarnation;
      n.leftBefore = n.owner.leaving;
    }
    n.history = new CoreHistory();
    n.driver = this.#newDriver(n, this.clock.now);
    n.status = "up";
    this.#join(n);
  }

  leave(i: number): void {
    this.nodes[i]!.driver.dispatch({ type: "leave" });
  }

  /**
   * A datagram made outside any node's driver (an insider's forgery), sent from node `from`'s
   * address over the same lossy network, as that node's socket would send it.
   */
  sendFrom(from: number, to: Address, datagram: Uint8Array): void {
    const t = this.#byAddress.get(to);
    if (t === undefined) return;
    const delay = this.network.datagramDelay(from, t);
    if (delay === undefined) return;
    const source = gossipOf(from);
    this.clock.after(delay, () => this.#deliver(this.nodes[t]!, source, datagram));
  }

  /** The id of node `i` (key fingerprints when secured). */
  idOf(i: number): string {
    return this.nodes[i]!.id;
  }

  /** What `observer` believes about `target`. */
  stateOf(observer: number, target: number): MemberState | undefined {
    return this.nodes[observer]!.swim.member(this.nodes[target]!.id)?.state;
  }

  /** Indices of nodes that are up. */
  upNodes(): number[] {
    return this.nodes.filter((n) => n.status === "up").map((n) => n.index);
  }

  /** Does every up node (other than the target) hold `target` in `state`? */
  allSee(target: number, state: MemberState, observers = this.upNodes()): boolean {
    return observers.every((o) => o === target || this.stateOf(o, target) === state);
  }

  /** A new process with a new identity in the old one's place (same addresses). */
  #rekeyed(old: SimNode): SimNode {
    const i = old.index;
    const identity = this.opts.clusterKey ? seededIdentity(seededRandom(this.opts.seed ^ (0x4e3 + i * 7919 + Math.floor(this.clock.now)))) : undefined;
    const id = identity?.id ?? `${old.id}'`;
    const n = new SimNode(i, { ...old.info, id }, identity);
    this.nodes[i] = n;
    // The old identity has no owner any more: the rules about its owner no longer apply to it.
    this.#slotOf.delete(old.id);
    this.#slotOf.set(id, i);
    return n;
  }

  #newDriver(n: SimNode, now: number, initialMembers?: MemberSnapshot[]): NodeDriver {
    const secured = n.identity && this.opts.clusterKey ? securedParts(n.identity, this.opts.clusterKey, () => this.clock.now) : undefined;
    const driver: NodeDriver = new NodeDriver({
      core: {
        self: n.info,
        initialMembers,
        timing: this.timing,
        random: seededRandom(this.opts.seed * 7919 + n.index * 104729 + now),
        initialIncarnation: Math.floor(now / 1000),
        directory: this.#directory,
        now,
      },
      io: this.#io(n, () => driver),
      protocol: n.info.protocol,
      guard: secured?.guard,
      claims: secured?.claims,
    });
    if (secured) n.claimStats = secured.claimStats;
    driver.onStep((_input, out) => this.#afterStep(n, driver, out.events));
    const index = n.index;
    driver.onEvent((event) => {
      for (const fn of this.#listeners) fn({ observer: index, event });
    });
    return driver;
  }

  #afterStep(n: SimNode, driver: NodeDriver, events: readonly MemberEvent[]): void {
    this.steps++;
    if (driver !== n.driver) return;
    const v = this.#check ? this.#checkStep(n, driver.swim, events) : undefined;
    if (v) throw new InvariantViolation(this.opts.seed, this.steps, this.clock.now, n.index, v);
    for (const fn of this.#stepListeners) fn(n);
  }

  #checkStep(n: SimNode, swim: Swim, events: readonly MemberEvent[]): Violation | undefined {
    const now = this.clock.now;
    const opts = this.#checkOptions;
    opts.now = now;
    if (this.opts.n <= FULL_CHECK_MAX_NODES || now >= n.nextSweepAt) {
      n.nextSweepAt = now + SWEEP_EVERY_MS;
      return checkNode(swim.inspect(), n.history, opts)[0];
    }
    if (events.length === 0) return undefined;
    const changed = events.map((e) => e.member.info.id);
    return checkMembers(swim.inspectHead(), changed, (id) => swim.inspectMember(id), n.history, opts)[0];
  }

  /** Between steps: no running node is asleep past its own deadline. */
  #checkWakeUps(): void {
    const opts = this.#checkOptions;
    opts.now = this.clock.now;
    for (const n of this.nodes) {
      if (n.status !== "up") continue;
      const v = checkHead(n.swim.inspectHead(), opts)[0];
      if (v) throw new InvariantViolation(this.opts.seed, this.steps, this.clock.now, n.index, v);
    }
    this.clock.after(WAKE_CHECK_EVERY_MS, () => this.#checkWakeUps());
  }

  #join(n: SimNode): void {
    const seeds = this.upNodes().filter((i) => i !== n.index);
    const seed = seeds.includes(0) ? 0 : seeds[Math.floor(this.random() * seeds.length)];
    n.driver.tick();
    if (seed !== undefined) n.driver.join(httpOf(seed), () => {});
  }

  /** The world as node `n` sees it. Every completion is delivered only to the driver that asked, while its node is up. */
  #io(n: SimNode, self: () => NodeDriver): NodeIo {
    const later = (delay: number, fn: () => void) => {
      const d = self();
      this.clock.after(delay, () => {
        if (n.driver === d && n.status === "up") fn();
      });
    };
    return {
      now: () => this.clock.now,
      send: (to, datagram) => this.sendFrom(n.index, to, datagram),
      setTimer: (at, fire) => {
        const token = ++n.timerToken;
        if (!Number.isFinite(at)) return;
        const d = self();
        this.clock.at(at, () => {
          if (n.timerToken === token && n.driver === d && n.status === "up") fire();
        });
      },
      checkHttp: (http, timeoutMs, nonce, done) => {
        const silent = () => later(timeoutMs, () => done({ result: "silent" }));
        const to = this.#byAddress.get(http);
        if (to === undefined) return silent();
        const target = this.nodes[to]!;
        // A crashed process on a reachable host refuses; a paused one accepts the connection (the
        // kernel does) but never answers; a lost segment makes TCP miss the deadline.
        if (!this.network.canReach(n.index, to) || target.status === "paused") return silent();
        if (target.status === "up" && !this.network.tcpExchangeInTime(n.index, to)) return silent();
        if (target.status === "crashed") return later(2 * this.network.latency(), () => done({ result: "refused" }));
        // The target's driver answers the challenge as its /health route would.
        const answer = target.driver.healthAnswer(nonce);
        later(2 * this.network.latency(), () => done({ result: "answered", ...answer }));
      },
      exchange: (http, members, join, done) => {
        const to = this.#byAddress.get(http);
        const failed = () => later(SYNC_TIMEOUT_MS, () => done(new Error(`${http} did not answer`)));
        if (to === undefined) return failed();
        const target = this.nodes[to]!;
        if (!this.network.canReach(n.index, to) || target.status !== "up") return failed();
        const state = members();
        this.clock.after(this.network.latency(), () => {
          if (target.status !== "up") return failed();
          const answer = target.driver.serveSync(state, join);
          later(this.network.latency(), () => done(answer));
        });
      },
    };
  }

  #deliver(target: SimNode, source: Address, datagram: Uint8Array): void {
    if (target.status === "crashed") return;
    if (target.status === "paused") {
      if (target.backlog.length < SOCKET_BUFFER) target.backlog.push({ source, datagram });
      return;
    }
    target.driver.receive(source, datagram);
  }
}

const gossipOf = (i: number) => `10.0.${i >> 8}.${i & 255}:7946`;
const httpOf = (i: number) => `10.0.${i >> 8}.${i & 255}:5000`;
