import type { NodeId } from "../membership/types.ts";
import type { DropReason } from "../wire/codec.ts";

/** Whom a datagram is for: its id, and its incarnation as the sender knows it (0: unknown). */
export interface Destination {
  readonly id: NodeId;
  readonly incarnation: number;
}

/**
 * Authenticates datagrams before anything decodes them. The node driver seals what it sends and
 * opens what it receives through one; the identity layer supplies the sealing kind.
 */
export interface PacketGuard {
  /** Seal for `to` when known, so that it opens nowhere else (nor at `to` after a restart). */
  seal(payload: Uint8Array, to?: Destination): Uint8Array;
  /** The payload, or why the datagram must be dropped. */
  open(datagram: Uint8Array): Uint8Array | DropReason;
  /** Whom this node is: datagrams bound to another node, or to a previous run of this one, are refused. */
  bindTo?(id: NodeId, startIncarnation: number): void;
}

/** Open mode: datagrams pass as they are. */
export const openGuard: PacketGuard = { seal: (p) => p, open: (d) => d };
