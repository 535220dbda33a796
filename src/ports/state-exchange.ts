import type { Address, MemberSnapshot } from "../membership/types.ts";

/**
 * A full-state exchange with the member at `http` (anti-entropy, or a join when `join`): send
 * ours, get theirs. Rejects when the peer cannot be reached, or with a PeerRefusedError when it
 * answered and refused us (it wants a credential we lack).
 */
export type StateExchange = (http: Address, members: readonly MemberSnapshot[], join: boolean) => Promise<MemberSnapshot[]>;
