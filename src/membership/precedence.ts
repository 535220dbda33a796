import type { MemberState } from "./types.ts";

/** Rank at equal incarnation: alive < suspect < dead < left (left is final for that incarnation). */
const rank: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

export interface Claim {
  readonly state: MemberState;
  readonly incarnation: number;
}

/**
 * Does `next` override what we believe (`current`)? The SWIM/memberlist rules:
 * - a higher incarnation wins, except that only `alive` (a rejoin) or `left` revive interest
 *   in a member we hold dead or left: suspicion of a dead node is noise;
 * - at equal incarnation the stronger state wins (alive < suspect < dead < left).
 * An unknown member is only learned from an `alive` claim: we never add a member just to
 * record that it is gone.
 */
export function supersedes(current: Claim | undefined, next: Claim): boolean {
  if (current === undefined) return next.state === "alive";
  const gone = current.state === "dead" || current.state === "left";
  if (gone) {
    if (next.state === "alive") return next.incarnation > current.incarnation;
    if (next.state === "left") return current.state === "dead" ? next.incarnation >= current.incarnation : next.incarnation > current.incarnation;
    return false;
  }
  if (next.incarnation !== current.incarnation) return next.incarnation > current.incarnation;
  return rank[next.state] > rank[current.state];
}
