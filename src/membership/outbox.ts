import type { BroadcastQueue } from "./broadcast-queue.ts";
import { retransmitLimit, type Timing } from "./timing.ts";
import type {
  Address,
  Effect,
  Evidence,
  EvidenceKind,
  MemberEvent,
  MemberEventType,
  MemberSnapshot,
  Message,
  NodeId,
  Outbound,
  Output,
  Update,
} from "./types.ts";

/**
 * Bytes reserved for a message's own fields before piggybacked updates: the largest, an ack with
 * its nonce and the member's 64-byte proof of life, or a ping-req with two addresses, take ~130.
 */
const HEADER_BYTES = 160;

/** `Evidence.via` for what a full state exchange brought (no datagram names a sender). */
export const VIA_SYNC = "sync";

/** The optional facts of one piece of evidence. */
export type EvidenceFacts = Partial<Pick<Evidence, "incarnation" | "relays" | "suspectedMs" | "detail">>;

const NONE: readonly never[] = Object.freeze([]);

/** What one `handle` call produces, collected as the mechanisms run. */
export class Outbox {
  #send: Outbound[] = [];
  #effects: Effect[] = [];
  #events: MemberEvent[] = [];
  #evidence: Evidence[] = [];
  /** Who brought the input being handled: the sender of a datagram, VIA_SYNC, or nobody (a timer). */
  via: string | undefined;

  constructor(
    private readonly queue: BroadcastQueue,
    private readonly t: Timing,
    private readonly liveCount: () => number,
    /** This node: what it concludes itself was brought by nobody. */
    private readonly self: NodeId,
  ) {}

  /** A message as is, with no piggybacked updates. */
  push(to: Address, message: Message): void {
    this.#send.push({ to, message });
  }

  /** A message carrying as many queued updates as fit; `needUpdates` skips it when none do. */
  piggyback(to: Address, make: (updates: Update[]) => Message, needUpdates = false): void {
    const updates = this.queue.take(this.t.packetBudget - HEADER_BYTES, retransmitLimit(this.t, this.liveCount()));
    if (needUpdates && updates.length === 0) return;
    this.#send.push({ to, message: make(updates) });
  }

  effect(e: Effect): void {
    this.#effects.push(e);
  }

  event(now: number, type: MemberEventType, member: MemberSnapshot, extra?: { by?: NodeId; reason?: string }): void {
    this.#events.push({ type, at: now, member, ...extra });
  }

  /** A fact about `member`, as `by` saw or claimed it, brought by whoever brought the current input. */
  evidence(at: number, member: NodeId, kind: EvidenceKind, by: NodeId, facts?: EvidenceFacts): void {
    const via = this.via === undefined || this.via === by || by === this.self ? undefined : this.via;
    this.#evidence.push({ at, member, kind, by, ...(via === undefined ? {} : { via }), ...facts });
  }

  /**
   * Hand over everything collected and start empty. Most calls collect nothing: those share one
   * frozen empty list rather than allocating four per call (an idle node's garbage is its CPU).
   */
  drain(wakeAt: number): Output {
    const none = NONE as unknown as never[];
    const out = {
      send: this.#send.length > 0 ? this.#send : none,
      effects: this.#effects.length > 0 ? this.#effects : none,
      events: this.#events.length > 0 ? this.#events : none,
      evidence: this.#evidence.length > 0 ? this.#evidence : none,
      wakeAt,
    };
    if (this.#send.length > 0) this.#send = [];
    if (this.#effects.length > 0) this.#effects = [];
    if (this.#events.length > 0) this.#events = [];
    if (this.#evidence.length > 0) this.#evidence = [];
    this.via = undefined;
    return out;
  }
}
