import type { DropReason } from "../wire/codec.ts";

/**
 * Authenticates datagrams before anything decodes them. The node driver seals what it sends and
 * opens what it receives through one; the identity layer supplies the sealing kind.
 */
export interface PacketGuard {
  seal(payload: Uint8Array): Uint8Array;
  /** The payload, or why the datagram must be dropped. */
  open(datagram: Uint8Array): Uint8Array | DropReason;
}

/** Open mode: datagrams pass as they are. */
export const openGuard: PacketGuard = { seal: (p) => p, open: (d) => d };
