import type { Member, MemberSnapshot, Message, NodeId, Nonce, Proof, Update } from "../membership/types.ts";

/**
 * Checks on self-claims at the node's edge: what arrives is verified before the core sees it,
 * what leaves carries this node's signature. The identity layer implements it; the node driver
 * calls it.
 */
/**
 * Where a full state comes from, when that earns it more trust than gossip (new identities from
 * elsewhere are rate-limited):
 * - `joining`: our own join, answered by the seed we chose;
 * - `proven`: the identity that just proved itself in the join handshake (its own claim).
 */
export interface AdmitContext {
  readonly joining?: boolean;
  readonly proven?: NodeId;
}

export interface ClaimHooks {
  /** Inbound updates and snapshots, before the core sees them: keep only what verifies. */
  admitUpdates(updates: readonly Update[]): readonly Update[];
  admitSnapshots(members: readonly MemberSnapshot[], ctx?: AdmitContext): MemberSnapshot[];
  /** Outbound: sign this node's own claims. */
  signMessage(m: Message): Message;
  signSnapshots(members: readonly MemberSnapshot[]): MemberSnapshot[];
  /**
   * Listed members whose standing has run out since the last call (CA mode: an expired
   * certificate). The driver asks after every timer step and has the core declare them dead.
   */
  expired?(): readonly NodeId[];
  /** This node's proof of life over a prober's nonce (open mode: none). */
  proveLiveness(nonce: Nonce): Proof | undefined;
  /** Is `proof` the member's own proof of life over `nonce`? (Open mode: nothing to check.) */
  verifyLiveness(member: NodeId, nonce: Nonce, proof: Proof | undefined): boolean;
}

/** Open mode: claims pass untouched. */
export const openClaims: ClaimHooks = {
  admitUpdates: (u) => u,
  admitSnapshots: (m) => [...m],
  signMessage: (m) => m,
  signSnapshots: (m) => [...m],
  proveLiveness: () => undefined,
  verifyLiveness: () => true,
};

/** Read access to a node's member table (what claim checks compare against). */
export interface MemberTable {
  member(id: NodeId): Readonly<Member> | undefined;
  members(): readonly Readonly<Member>[];
  /** Members alive or suspect, this node included. */
  readonly liveCount: number;
}

/**
 * Claim checks are built over the table of the node they guard; the driver owns that table, so
 * it is handed a factory and calls it once with its own table.
 */
export type ClaimsFactory = (table: MemberTable) => ClaimHooks;

export const openClaimsFactory: ClaimsFactory = () => openClaims;
