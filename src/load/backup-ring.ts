/**
 * Who keeps a copy of this node's accepted packets: the next alive member after it on a ring
 * ordered by node id (then the one after that, should it not answer). Why this rule:
 * - every node computes it from its own member table, with no coordination or extra messages;
 * - each node is the backup of one predecessor, so keeping copies costs every node about the
 *   same, and a node's packets sit with one known node rather than spread over many;
 * - it moves only when the ring does (a death, a join next to us), not per packet.
 * The least loaded member was the alternative: it changes from packet to packet, so a dead
 * node's packets would be spread over the whole cluster and all of it would have to look.
 */
import type { Member } from "../membership/types.ts";

/** Alive members other than `selfId`, in ring order after it: the backup first. */
export function backupCandidates(selfId: string, members: readonly Readonly<Member>[], max = 3): Readonly<Member>[] {
  const alive = members.filter((m) => m.state === "alive" && m.info.id !== selfId).sort((a, b) => (a.info.id < b.info.id ? -1 : 1));
  const after = alive.findIndex((m) => m.info.id > selfId);
  const ring = after < 0 ? alive : [...alive.slice(after), ...alive.slice(0, after)];
  return ring.slice(0, max);
}
