import type { Address, MemberSnapshot } from "../membership/types.ts";

/**
 * A full-state exchange with the member at `http` (anti-entropy, or a join when `join`): send
 * ours, get theirs. Rejects when the peer cannot be reached or refuses us; a refusal (it wants a
 * credential we lack) is flagged with `refused: true` on the error.
 */
export type StateExchange = (http: Address, members: readonly MemberSnapshot[], join: boolean) => Promise<MemberSnapshot[]>;

