import type { NodeConfig } from "../config/node-config.ts";
import { type ClaimHooks, openClaims } from "../identity/claims.ts";
import type { NodeIdentity } from "../identity/node-identity.ts";
import type { Logger } from "../log/logger.ts";
import { Swim } from "../membership/swim.ts";
import type { Address, Effect, Input, MemberEvent, MemberSnapshot, Message, Output } from "../membership/types.ts";
import { encodedSize } from "../wire/codec.ts";
import { joinAddress } from "../util/address.ts";
import { checkHealth } from "./http-check.ts";
import { exchangeState } from "./sync-client.ts";
import { openGuard, type PacketGuard, UdpTransport } from "./udp-transport.ts";

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** Monotonic milliseconds on the wall-clock scale (Date.now() can jump; this cannot). */
export const monotonicNow = (): number => performance.timeOrigin + performance.now();

/**
 * Drives the sans-IO core with the real world: feeds it datagrams, timer wake-ups and effect
 * results, and carries out what it returns (send, check a port, sync, report an event).
 */
export class EdgeNode {
  readonly swim: Swim;
  readonly log: Logger;
  #transport: UdpTransport | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;
  #listeners = new Set<(e: MemberEvent) => void>();
  #taps = new Set<(dir: "in" | "out", peer: Address, message: Message) => void>();
  #stopped = false;
  #readiness: Readiness = { ready: false, reason: "joining" };
  readonly startedAt = Date.now();
  /** Verifies others' self-claims and signs ours (identity layer; pass-through in open mode). */
  claims: ClaimHooks = openClaims;
  /** Full-state exchange with a member; `join` goes through the admission handshake when secured. */
  exchange: (http: string, members: readonly MemberSnapshot[], join: boolean) => Promise<MemberSnapshot[]> = exchangeState;

  constructor(
    readonly config: NodeConfig,
    readonly identity: NodeIdentity,
    log: Logger,
    private readonly guard: PacketGuard = openGuard,
  ) {
    this.log = log;
    this.swim = new Swim({
      self: {
        id: identity.id,
        name: config.name,
        gossip: joinAddress(config.ip, config.gossipPort),
        http: joinAddress(config.ip, config.port),
        capacity: config.capacity,
      },
      timing: config.timing,
      random: Math.random,
      sizeOf: encodedSize,
      // Seconds since the epoch: a restart of the same identity outranks what it said before.
      initialIncarnation: Math.floor(Date.now() / 1000),
      now: monotonicNow(),
    });
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

  get transport(): UdpTransport | undefined {
    return this.#transport;
  }

  async start(): Promise<void> {
    this.#transport = await UdpTransport.bind(this.config.bind, this.config.gossipPort, (source, message) => this.dispatch({ type: "message", source, message }), this.guard);
    this.dispatch({ type: "tick" });
  }

  /** Subscribe to membership events; returns the unsubscribe function. */
  onEvent(fn: (e: MemberEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Watch every decoded datagram in and out (metrics: probe round trips); returns the unsubscribe function. */
  onTraffic(fn: (dir: "in" | "out", peer: Address, message: Message) => void): () => void {
    this.#taps.add(fn);
    return () => this.#taps.delete(fn);
  }

  /** Feed one input to the core and carry out its output. */
  dispatch(input: Input): Output {
    if (input.type === "message") for (const fn of this.#taps) fn("in", input.source, input.message);
    const out = this.swim.handle(monotonicNow(), this.#admit(input));
    if (this.#stopped) return out;
    for (const s of out.send) {
      this.#transport?.send(s.to, this.claims.signMessage(s.message));
      for (const fn of this.#taps) fn("out", s.to, s.message);
    }
    for (const e of out.effects) this.#perform(e);
    for (const e of out.events) this.#report(e);
    this.#schedule(out.wakeAt);
    return out;
  }

  /** Serve a sync request: merge the remote state, answer with ours. */
  serveSync(members: readonly MemberSnapshot[], join: boolean): MemberSnapshot[] {
    this.dispatch({ type: "sync", members, join });
    return this.snapshot();
  }

  /** Our full state as others receive it (our own claims signed). */
  snapshot(): MemberSnapshot[] {
    return this.claims.signSnapshots(this.swim.snapshot());
  }

  /** Claims that fail verification never reach the core. */
  #admit(input: Input): Input {
    if (input.type === "sync") return { ...input, members: this.claims.admitSnapshots(input.members) };
    if (input.type !== "message" || input.message.type === "nack") return input;
    const updates = this.claims.admitUpdates(input.message.updates);
    return updates === input.message.updates ? input : { ...input, message: { ...input.message, updates } };
  }

  /** Announce `left`, give it time to spread, then stop. */
  async leave(): Promise<void> {
    if (this.swim.leaving) return;
    this.dispatch({ type: "leave" });
    await Bun.sleep(this.config.leaveGraceMs);
    await this.stop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#transport?.close();
  }

  #schedule(wakeAt: number): void {
    if (wakeAt === this.#wakeAt && this.#timer !== undefined) return;
    clearTimeout(this.#timer);
    this.#wakeAt = wakeAt;
    if (!Number.isFinite(wakeAt)) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#wakeAt = Number.POSITIVE_INFINITY;
        this.dispatch({ type: "tick" });
      },
      Math.max(0, wakeAt - monotonicNow()),
    );
  }

  #perform(e: Effect): void {
    switch (e.type) {
      case "check-http":
        void checkHealth(e.http, e.timeoutMs).then((result) => this.dispatch({ type: "http-check", target: e.target, result }));
        return;
      case "sync":
        this.exchange(e.http, this.claims.signSnapshots(e.members), false).then(
          (members) => this.dispatch({ type: "sync", members, join: false }),
          (err: Error) => {
            this.log.debug({ peer: e.http, err: err.message }, "sync failed");
            this.dispatch({ type: "sync-failed", target: e.target });
          },
        );
        return;
    }
  }

  #report(e: MemberEvent): void {
    const m = e.member;
    this.log.info(
      { event: e.type, member: m.info.id, name: m.info.name, addr: m.info.http, incarnation: m.incarnation, ...(e.by ? { by: e.by } : {}), ...(e.reason ? { reason: e.reason } : {}) },
      `member ${e.type}: ${m.info.name}`,
    );
    for (const fn of this.#listeners) fn(e);
  }
}
