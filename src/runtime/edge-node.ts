import type { NodeConfig } from "../config/node-config.ts";
import { EvidenceLog } from "../driver/evidence-log.ts";
import { NodeDriver, type TransportStats } from "../driver/node-driver.ts";
import type { NodeIo } from "../driver/node-io.ts";
import type { NodeIdentity } from "../identity/node-identity.ts";
import { exchangeState } from "../identity/sync-client.ts";
import type { Logger } from "../log/logger.ts";
import type { Swim } from "../membership/swim.ts";
import type { Address, Input, Member, MemberEvent, MemberSnapshot, Message, NodeId, Output } from "../membership/types.ts";
import type { AdmitContext, ClaimHooks, ClaimsFactory } from "../ports/claims.ts";
import type { PacketGuard } from "../ports/packet-guard.ts";
import type { StateExchange } from "../ports/state-exchange.ts";
import { joinAddress } from "../util/address.ts";
import { nextVersionExtras, PROTOCOL, TEST_NEXT } from "../wire/protocol.ts";
import { checkHealth } from "./http-check.ts";
import { Pinger } from "./pinger.ts";
import { UdpTransport } from "./udp-transport.ts";

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** Monotonic milliseconds on the wall-clock scale (Date.now() can jump; this cannot). */
export const monotonicNow = (): number => performance.timeOrigin + performance.now();

/** What a node is built from; the composition root supplies the security parts. */
export interface EdgeNodeParts {
  readonly config: NodeConfig;
  readonly identity: NodeIdentity;
  readonly log: Logger;
  /** Seals datagrams (default: open). */
  readonly guard?: PacketGuard;
  /** Claim checks over the node's table (default: open). */
  readonly claims?: ClaimsFactory;
  /** Full-state exchange with a member (default: plain /sync). */
  readonly exchange?: StateExchange;
}

/**
 * A node in the real world: the shared node driver over a UDP socket, setTimeout and fetch.
 * Everything between the core and the socket lives in the driver, which the simulator runs too.
 */
export class EdgeNode {
  readonly config: NodeConfig;
  readonly identity: NodeIdentity;
  readonly log: Logger;
  readonly driver: NodeDriver;
  /** What this node saw and heard about each member (`dsef why`), bounded. */
  readonly evidence = new EvidenceLog();
  /** One-off pings outside the probe rounds (`dsef reachability`, force-leave's check). */
  readonly pinger: Pinger;
  readonly startedAt = Date.now();
  readonly #exchange: StateExchange;
  #socket: UdpTransport | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #readiness: Readiness = { ready: false, reason: "joining" };

  constructor(parts: EdgeNodeParts) {
    const { config, identity } = parts;
    this.config = config;
    this.identity = identity;
    this.log = parts.log;
    this.#exchange = parts.exchange ?? ((http, members, join) => exchangeState(http, members, join));
    this.driver = new NodeDriver({
      core: {
        self: {
          id: identity.id,
          name: config.name,
          gossip: joinAddress(config.ip, config.gossipPort),
          http: joinAddress(config.ip, config.port),
          capacity: config.capacity,
          ...(Object.keys(config.tags).length > 0 ? { tags: config.tags } : {}),
          protocol: PROTOCOL,
        },
        timing: config.timing,
        random: Math.random,
        // Seconds since the epoch: a restart of the same identity outranks what it said before.
        initialIncarnation: Math.floor(Date.now() / 1000),
        now: monotonicNow(),
      },
      io: this.#io(),
      guard: parts.guard,
      claims: parts.claims,
      log: parts.log,
      ...(TEST_NEXT ? { extras: nextVersionExtras(identity.id) } : {}),
    });
    this.driver.onEvidence((e) => this.evidence.record(e, this.driver.swim.member(e.member)?.info.name));
    this.pinger = new Pinger(this.driver);
  }

  get swim(): Swim {
    return this.driver.swim;
  }

  get claims(): ClaimHooks {
    return this.driver.claims;
  }

  /** Ready = joined a cluster (or founded one); otherwise why not, for /ready and /status. */
  get readiness(): Readiness {
    return this.#readiness;
  }

  setReady(): void {
    this.#readiness = { ready: true };
  }

  setNotReady(reason: string): void {
    this.#readiness = { ready: false, reason };
  }

  /** Datagram counters, once the socket is bound. */
  get transport(): { readonly stats: TransportStats } | undefined {
    return this.#socket ? this.driver : undefined;
  }

  async start(): Promise<void> {
    this.#socket = await UdpTransport.bind(this.config.bind, this.config.gossipPort, (source, datagram) => this.driver.receive(source, datagram));
    this.driver.tick();
  }

  /** Subscribe to membership events; returns the unsubscribe function. */
  onEvent(fn: (e: MemberEvent) => void): () => void {
    return this.driver.onEvent(fn);
  }

  /** Watch every decoded datagram in and out; returns the unsubscribe function. */
  onTraffic(fn: (dir: "in" | "out", peer: Address, message: Message) => void): () => void {
    return this.driver.onTraffic(fn);
  }

  dispatch(input: Input): Output {
    return this.driver.dispatch(input);
  }

  member(id: NodeId): Readonly<Member> | undefined {
    return this.driver.swim.member(id);
  }

  members(): readonly Readonly<Member>[] {
    return this.driver.swim.members();
  }

  serveSync(members: readonly MemberSnapshot[], join: boolean, ctx?: AdmitContext): MemberSnapshot[] {
    return this.driver.serveSync(members, join, ctx);
  }

  snapshot(): MemberSnapshot[] {
    return this.driver.snapshot();
  }

  /** Join through the member at `http` (the admission handshake when secured). */
  join(http: Address): Promise<void> {
    return new Promise((resolve, reject) => this.driver.join(http, (err) => (err ? reject(err) : resolve())));
  }

  /** Announce `left`, give it time to spread, then stop. */
  async leave(): Promise<void> {
    if (this.swim.leaving) return;
    this.dispatch({ type: "leave" });
    await Bun.sleep(this.config.leaveGraceMs);
    await this.stop();
  }

  async stop(): Promise<void> {
    this.driver.stop();
    await this.#socket?.close();
  }

  #io(): NodeIo {
    return {
      now: monotonicNow,
      send: (to, datagram) => this.#socket?.send(to, datagram, () => this.driver.sendFailed()),
      setTimer: (at, fire) => {
        clearTimeout(this.#timer);
        // Whole milliseconds, rounded up: a timer that fires a fraction early finds nothing due and
        // costs a second wake-up.
        this.#timer = Number.isFinite(at) ? setTimeout(fire, Math.max(0, Math.ceil(at - monotonicNow()))) : undefined;
      },
      checkHttp: (http, timeoutMs, nonce, done) => void checkHealth(http, timeoutMs, nonce).then(done),
      exchange: (http, members, join, done) =>
        void this.#exchange(http, members(), join).then(done, (e: unknown) => done(e instanceof Error ? e : new Error(String(e)))),
    };
  }
}
