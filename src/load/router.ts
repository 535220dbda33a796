import { type Candidate, pickTwoChoices, rankCandidates } from "./balancer.ts";

/** Tunables of the routing decision, all in seconds of queued work (load ratio). */
export interface RoutePolicy {
  /** Below this the node has room and keeps the work. */
  readonly forwardAbove: number;
  /** A peer must be at least this much less loaded to be "clearly better"… */
  readonly margin: number;
  /** Beyond this a node is saturated: it takes no more work. */
  readonly maxBacklog: number;
  /** Above this, replies pace devices (pacer.ts); default max(forwardAbove, maxBacklog / 5). */
  readonly paceAbove?: number;
}

/**
 * …and at least this fraction of our own load less. Peers' figures are up to a probe interval
 * old; when every node's queue grows alike (overload), ours always looks a little higher than
 * theirs, and a fixed margin alone would forward most packets for nothing.
 */
const RELATIVE_MARGIN = 0.25;

export type Route =
  | { readonly kind: "local" }
  /** Forward to the first target; on failure try the next, then keep it locally if there is room. */
  | { readonly kind: "forward"; readonly targets: readonly Candidate[] }
  | { readonly kind: "reject"; readonly retryAfterS: number };

export interface RouteInput {
  /** How many nodes the request has already passed through (0 = from a device). */
  readonly hop: number;
  /** This node's load ratio with the new packet counted. */
  readonly ownRatio: number;
  /** Alive, non-suspect peers with estimated ratios (a function: the common case never needs them). */
  readonly peers: () => readonly Candidate[];
  readonly policy: RoutePolicy;
  readonly random: () => number;
}

/** Where a packet should go. Pure: the caller does the forwarding. */
export function route(i: RouteInput): Route {
  const { ownRatio, policy } = i;
  const hasRoom = ownRatio <= policy.maxBacklog;
  // Hop limit 1: a forwarded packet is never forwarded again, so no ping-pong.
  if (i.hop >= 1) return hasRoom ? { kind: "local" } : reject(ownRatio, i.peers(), policy);
  if (ownRatio <= policy.forwardAbove) return { kind: "local" };
  const peers = i.peers();
  const open = peers.filter((p) => p.ratio < policy.maxBacklog);
  // With preferred peers (--prefer-tag: the same site), work is shared among them; the others
  // take it only when this node and every preferred peer are full.
  const near = open.some((p) => p.preferred === false) ? open.filter((p) => p.preferred) : open;
  const pick = pickTwoChoices(near, i.random);
  if (pick && pick.ratio + Math.max(policy.margin, RELATIVE_MARGIN * ownRatio) < ownRatio) {
    const second = rankCandidates(
      near.filter((p) => p !== pick),
      1,
      i.random,
    );
    return { kind: "forward", targets: [pick, ...second] };
  }
  if (hasRoom) return { kind: "local" };
  const fallback = near.length > 0 ? near : open;
  if (fallback.length > 0) return { kind: "forward", targets: rankCandidates(fallback, 2, i.random) };
  return reject(ownRatio, peers, policy);
}

/** Retry-After: roughly when the least loaded node will be back under the limit. */
function reject(ownRatio: number, peers: readonly Candidate[], policy: RoutePolicy): Route {
  const least = Math.min(ownRatio, ...peers.map((p) => p.ratio));
  return { kind: "reject", retryAfterS: Math.min(60, Math.max(1, Math.ceil(least - policy.maxBacklog))) };
}
