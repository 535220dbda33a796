/**
 * When to tell the cluster about this node's backlog. Every figure is re-gossiped epidemically,
 * so publish only when peers' picture is meaningfully wrong. Peers assume a published backlog
 * drains at capacity (see PeerLoads); publish when the real backlog has drifted from that
 * assumption by more than `threshold` units. The caller checks at most once per probe interval.
 */
export interface Published {
  readonly backlog: number;
  readonly at: number;
}

export function expectedByPeers(last: Published | undefined, capacity: number, now: number): number {
  if (!last) return 0;
  return Math.max(0, last.backlog - (capacity * (now - last.at)) / 1000);
}

export function shouldPublish(actual: number, last: Published | undefined, capacity: number, now: number, threshold: number): boolean {
  return Math.abs(actual - expectedByPeers(last, capacity, now)) > threshold;
}
