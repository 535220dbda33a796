/**
 * When to tell the cluster about this node's backlog. Every figure is re-gossiped epidemically,
 * so publish only when peers' picture is meaningfully wrong: when the real backlog has moved by
 * more than `threshold` units from the last published figure (peers hold a figure as is; see
 * PeerLoads). The first figure is always published, so peers know an idle node's load (0)
 * rather than nothing. The caller checks at most once per probe interval, so a node publishes
 * at most that often, and a node whose load is steady (idle or busy) publishes nothing more.
 */
export interface Published {
  readonly backlog: number;
  readonly at: number;
}

export function shouldPublish(actual: number, last: Published | undefined, threshold: number): boolean {
  return last === undefined || Math.abs(actual - last.backlog) > threshold;
}
