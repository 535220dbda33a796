import type { BroadcastQueue } from "./broadcast-queue.ts";
import { retransmitLimit, type Timing } from "./timing.ts";
import type { Address, Effect, MemberEvent, MemberEventType, MemberSnapshot, Message, NodeId, Outbound, Output, Update } from "./types.ts";

/**
 * Bytes reserved for a message's own fields before piggybacked updates: the largest, an ack with
 * its nonce and the member's 64-byte proof of life, or a ping-req with two addresses, take ~130.
 */
const HEADER_BYTES = 160;

/** What one `handle` call produces, collected as the mechanisms run. */
export class Outbox {
  #send: Outbound[] = [];
  #effects: Effect[] = [];
  #events: MemberEvent[] = [];

  constructor(
    private readonly queue: BroadcastQueue,
    private readonly t: Timing,
    private readonly liveCount: () => number,
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

  /** Hand over everything collected and start empty. */
  drain(wakeAt: number): Output {
    const out = { send: this.#send, effects: this.#effects, events: this.#events, wakeAt };
    this.#send = [];
    this.#effects = [];
    this.#events = [];
    return out;
  }
}
