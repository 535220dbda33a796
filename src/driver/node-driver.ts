import { randomFillSync } from "node:crypto";
import { Swim, type SwimConfig } from "../membership/swim.ts";
import type {
  Address,
  Effect,
  Evidence,
  Input,
  MemberEvent,
  MemberSnapshot,
  Message,
  NodeId,
  Nonce,
  Output,
  Proof,
  ProtocolRange,
} from "../membership/types.ts";
import { type AdmitContext, type ClaimHooks, type ClaimsFactory, openClaimsFactory } from "../ports/claims.ts";
import type { NodeLog } from "../ports/node-log.ts";
import { type Destination, openGuard, type PacketGuard } from "../ports/packet-guard.ts";
import { type DropReason, decodeMessage, encodedSize, encodeMessage, type WireExtras } from "../wire/codec.ts";
import { clusterVersion, PROTOCOL, rangeOf } from "../wire/protocol.ts";
import type { NodeIo } from "./node-io.ts";

/** Datagram counters, as /status and /metrics show them. */
export interface TransportStats {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  sendErrors: number;
  drops: Record<DropReason, number>;
  /** Updates dropped from otherwise valid datagrams (the rest of the datagram was kept). */
  updatesDropped: number;
  /** Updates of kinds this build does not know (a newer node's), skipped. */
  updatesUnknown: number;
  /** The protocol versions this node reads, and the one it writes (the highest every live member reads). */
  protocol: { speaks: ProtocolRange; writes: number };
}

export interface DriverParts {
  /** The core's configuration; the driver supplies the codec's size function and the liveness proofs. */
  readonly core: Omit<SwimConfig, "sizeOf" | "liveness">;
  readonly io: NodeIo;
  /** Seals outbound and opens inbound datagrams (open mode: pass-through). */
  readonly guard?: PacketGuard;
  /** Claim checks over this node's table (open mode: pass-through). */
  readonly claims?: ClaimsFactory;
  readonly log?: NodeLog;
  /** The protocol versions this node speaks (default: this build's). */
  readonly protocol?: ProtocolRange;
  /** Tests of a future version only: what a newer build would add to datagrams written in `version`. */
  readonly extras?: (version: number) => WireExtras | undefined;
}

/** Source addresses remembered for naming the destination of replies (cleared when full). */
const MAX_SENDERS = 4096;

type Tap = (dir: "in" | "out", peer: Address, message: Message) => void;
type StepListener = (input: Input, out: Output) => void;

/**
 * Everything between the sans-IO core and the world, written once for the real runtime and the
 * simulator: datagrams are opened by the guard, decoded and their claims admitted before the
 * core sees them; what the core sends is signed, encoded and sealed; its effects go out through
 * the I/O interface and their results come back in as inputs; its wake-up time arms one timer.
 */
export class NodeDriver {
  readonly swim: Swim;
  readonly claims: ClaimHooks;
  readonly stats: TransportStats = {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    sendErrors: 0,
    drops: { oversized: 0, malformed: 0, schema: 0, version: 0, unauthenticated: 0, replayed: 0 },
    updatesDropped: 0,
    updatesUnknown: 0,
    protocol: { speaks: PROTOCOL, writes: PROTOCOL.max },
  };
  readonly #io: NodeIo;
  readonly #guard: PacketGuard;
  readonly #log: NodeLog | undefined;
  // Arrays, replaced on (un)subscribe: iterating them costs nothing when empty (the hot path).
  #listeners: readonly ((e: MemberEvent) => void)[] = [];
  #evidence: readonly ((e: Evidence) => void)[] = [];
  #taps: readonly Tap[] = [];
  #steps: readonly StepListener[] = [];
  /** Where the full state being dispatched comes from (see AdmitContext); none for gossip and plain syncs. */
  #admitCtx: AdmitContext | undefined;
  /** Who sent from each address lately (replies go to the source address: this names its node). */
  readonly #senders = new Map<Address, string>();
  /** When the armed timer fires; Infinity when none is armed. */
  #armedAt = Number.POSITIVE_INFINITY;
  #stopped = false;
  readonly #extras: DriverParts["extras"];
  /** The version to write is recomputed after membership changed. */
  #versionStale = true;

  constructor(parts: DriverParts) {
    this.#io = parts.io;
    this.#extras = parts.extras;
    const speaks = parts.protocol ?? PROTOCOL;
    this.stats.protocol = { speaks, writes: speaks.max };
    this.#guard = parts.guard ?? openGuard;
    this.#log = parts.log;
    // Probes are answered by the member's own signature over a nonce nobody could predict.
    const liveness = {
      nonce: (): Nonce => randomFillSync(new Uint8Array(16)),
      verify: (member: NodeId, nonce: Nonce, proof: Proof | undefined) => this.claims.verifyLiveness(member, nonce, proof),
    };
    this.swim = new Swim({ ...parts.core, sizeOf: encodedSize, liveness });
    this.claims = (parts.claims ?? openClaimsFactory)(this.swim);
    this.#guard.bindTo?.(this.swim.self.id, this.swim.incarnation);
  }

  /** This node's answer to a health challenge (GET /health?challenge=…): its id and proof of life. */
  healthAnswer(nonce?: Nonce): { id: NodeId; proof?: Proof } {
    const id = this.swim.self.id;
    const proof = nonce && this.claims.proveLiveness(nonce);
    return proof ? { id, proof } : { id };
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Subscribe to membership events; returns the unsubscribe function. */
  onEvent(fn: (e: MemberEvent) => void): () => void {
    this.#listeners = [...this.#listeners, fn];
    return () => {
      this.#listeners = this.#listeners.filter((f) => f !== fn);
    };
  }

  /** Subscribe to the core's evidence about members (`dsef why`); returns the unsubscribe function. */
  onEvidence(fn: (e: Evidence) => void): () => void {
    this.#evidence = [...this.#evidence, fn];
    return () => {
      this.#evidence = this.#evidence.filter((f) => f !== fn);
    };
  }

  /** Watch every decoded datagram in and out (metrics: probe round trips); returns the unsubscribe function. */
  onTraffic(fn: Tap): () => void {
    this.#taps = [...this.#taps, fn];
    return () => {
      this.#taps = this.#taps.filter((f) => f !== fn);
    };
  }

  /** Called after every step of the core, before its output is carried out (the simulator's invariant checks). */
  onStep(fn: StepListener): () => void {
    this.#steps = [...this.#steps, fn];
    return () => {
      this.#steps = this.#steps.filter((f) => f !== fn);
    };
  }

  /** A datagram from the network: authenticated, decoded and checked, or counted as a drop. */
  receive(source: Address, datagram: Uint8Array): void {
    if (this.#stopped) return;
    const s = this.stats;
    s.packetsIn++;
    s.bytesIn += datagram.byteLength;
    const payload = this.#guard.open(datagram);
    if (typeof payload === "string") {
      s.drops[payload]++;
      return;
    }
    const decoded = decodeMessage(payload, s.protocol.speaks);
    if (!decoded.ok) {
      s.drops[decoded.reason]++;
      return;
    }
    s.updatesDropped += decoded.droppedUpdates;
    // Only a sealing guard names destinations (open mode would keep up to 4096 of these a node
    // for nothing: at 10 000 simulated nodes, gigabytes).
    if (this.#guard !== openGuard && this.#senders.get(source) !== decoded.message.from) {
      if (this.#senders.size >= MAX_SENDERS) this.#senders.clear();
      this.#senders.set(source, decoded.message.from);
    }
    s.updatesUnknown += decoded.unknownUpdates;
    this.dispatch({ type: "message", source, message: decoded.message });
  }

  /** Run due work now, whatever timer was armed (start, and resume after a pause). */
  tick(): void {
    this.#armedAt = Number.POSITIVE_INFINITY;
    this.dispatch({ type: "tick" });
    this.#expel();
  }

  /** Feed one input to the core and carry out its output. */
  dispatch(input: Input): Output {
    if (input.type === "message") for (let i = 0; i < this.#taps.length; i++) this.#taps[i]!("in", input.source, input.message);
    const out = this.swim.handle(this.#io.now(), this.#admit(input));
    for (let i = 0; i < this.#steps.length; i++) this.#steps[i]!(input, out);
    if (this.#stopped) return out;
    for (const s of out.send) this.#send(s.to, s.message);
    for (const e of out.effects) this.#perform(e);
    if (out.events.length > 0 && !this.#versionStale) this.#versionStale = out.events.some((e) => this.#mayChangeVersion(e));
    for (const e of out.events) this.#report(e);
    if (this.#evidence.length > 0) for (const e of out.evidence) for (const fn of this.#evidence) fn(e);
    this.#schedule(out.wakeAt);
    return out;
  }

  /** Serve a peer's sync request: merge its state, answer with ours. */
  serveSync(members: readonly MemberSnapshot[], join: boolean, ctx?: AdmitContext): MemberSnapshot[] {
    this.#dispatchWith(ctx, { type: "sync", members, join });
    return this.snapshot();
  }

  /** Our full state as others receive it (our own claims signed). */
  snapshot(): MemberSnapshot[] {
    return this.claims.signSnapshots(this.swim.snapshot());
  }

  /** Join through the member at `http`: exchange full state, merge the answer. */
  join(http: Address, done: (err?: Error) => void): void {
    this.#io.exchange(
      http,
      () => this.snapshot(),
      true,
      (r) => {
        if (r instanceof Error) return done(r);
        this.#dispatchWith({ joining: true }, { type: "sync", members: r, join: true });
        done();
      },
    );
  }

  /**
   * Send one message outside the core's rounds, signed, encoded and sealed like its own (an
   * operator's reachability ping). Its answer reaches the core too, which ignores an ack it did not ask for.
   */
  sendMessage(to: Address, message: Message): void {
    if (!this.#stopped) this.#send(to, message);
  }

  /** A datagram the I/O could not send. */
  sendFailed(): void {
    this.stats.sendErrors++;
  }

  /** Stop carrying out the core's output and disarm the timer. */
  stop(): void {
    this.#stopped = true;
    this.#armedAt = Number.POSITIVE_INFINITY;
    this.#io.setTimer(Number.POSITIVE_INFINITY, () => {});
  }

  #dispatchWith(ctx: AdmitContext | undefined, input: Input): void {
    this.#admitCtx = ctx;
    try {
      this.dispatch(input);
    } finally {
      this.#admitCtx = undefined;
    }
  }

  /** Claims that fail verification never reach the core. */
  #admit(input: Input): Input {
    if (input.type === "sync") return { ...input, members: this.claims.admitSnapshots(input.members, this.#admitCtx) };
    if (input.type !== "message" || input.message.type === "nack") return input;
    const updates = this.claims.admitUpdates(input.message.updates);
    return updates === input.message.updates ? input : { ...input, message: { ...input.message, updates } };
  }

  /** Whom a datagram to `to` is for: the node a ping names, else the member at that address, else who last sent from it. */
  #destination(to: Address, message: Message): Destination | undefined {
    const id = message.type === "ping" ? message.to : (this.swim.memberAt(to)?.info.id ?? this.#senders.get(to));
    if (id === undefined) return undefined;
    return { id, incarnation: this.swim.member(id)?.incarnation ?? 0 };
  }

  /**
   * Can this change alter the version to write? While we write our best, only a member that
   * reads less (joining, coming back or changing its info) can lower it; below our best, any
   * change may raise it. (Recounting the live members after every event is O(N) a node: at
   * 10 000 simulated nodes, 10⁸ a death.)
   */
  #mayChangeVersion(e: MemberEvent): boolean {
    const p = this.stats.protocol;
    return p.writes < p.speaks.max || rangeOf(e.member.info.protocol).max < p.speaks.max;
  }

  /** The highest version every live member reads (memberlist's rule: a rolling upgrade talks old until the last old node is gone). */
  #writeVersion(): number {
    const p = this.stats.protocol;
    if (this.#versionStale) {
      this.#versionStale = false;
      const self = this.swim.self.id;
      const ranges = this.swim
        .members()
        .filter((m) => m.info.id !== self && (m.state === "alive" || m.state === "suspect"))
        .map((m) => rangeOf(m.info.protocol));
      p.writes = clusterVersion(p.speaks, ranges);
    }
    return p.writes;
  }

  #send(to: Address, message: Message): void {
    const v = this.#writeVersion();
    const datagram = this.#guard.seal(
      encodeMessage(this.claims.signMessage(message), v, this.#extras?.(v)),
      this.#guard === openGuard ? undefined : this.#destination(to, message),
    );
    // An empty datagram means the guard has no key to seal with yet (CA mode, not admitted).
    if (datagram.byteLength === 0) return;
    this.stats.packetsOut++;
    this.stats.bytesOut += datagram.byteLength;
    this.#io.send(to, datagram);
    for (let i = 0; i < this.#taps.length; i++) this.#taps[i]!("out", to, message);
  }

  #schedule(wakeAt: number): void {
    if (wakeAt === this.#armedAt) return;
    this.#armedAt = wakeAt;
    this.#io.setTimer(wakeAt, this.#fire);
  }

  readonly #fire = (): void => {
    this.#armedAt = Number.POSITIVE_INFINITY;
    this.dispatch({ type: "tick" });
    this.#expel();
  };

  /** Members the claim checks no longer admit are declared dead (checked at every wake-up: at least once a probe interval). */
  #expel(): void {
    const gone = this.claims.expired?.();
    if (!gone || this.#stopped) return;
    for (const id of gone) this.dispatch({ type: "expel", id, reason: "certificate expired" });
  }

  #perform(e: Effect): void {
    switch (e.type) {
      case "check-http":
        this.#io.checkHttp(e.http, e.timeoutMs, e.nonce, (a) =>
          this.dispatch({ type: "http-check", target: e.target, nonce: e.nonce, result: a.result, answeredAs: a.id, proof: a.proof }),
        );
        return;
      case "sync":
        this.#io.exchange(
          e.http,
          () => this.snapshot(),
          false,
          (r) => {
            if (r instanceof Error) {
              this.#log?.debug({ peer: e.http, err: r.message }, "sync failed");
              this.dispatch({ type: "sync-failed", target: e.target });
            } else this.dispatch({ type: "sync", members: r, join: false });
          },
        );
        return;
    }
  }

  #report(e: MemberEvent): void {
    const m = e.member;
    this.#log?.info(
      {
        event: e.type,
        member: m.info.id,
        name: m.info.name,
        addr: m.info.http,
        incarnation: m.incarnation,
        ...(e.by ? { by: e.by } : {}),
        ...(e.reason ? { reason: e.reason } : {}),
      },
      `member ${e.type}: ${m.info.name}`,
    );
    for (let i = 0; i < this.#listeners.length; i++) this.#listeners[i]!(e);
  }
}
