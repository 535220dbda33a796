/**
 * Protocol timing. `lan` follows memberlist's DefaultLANConfig (probe 1 s, ack timeout 500 ms,
 * 3 relays, gossip to 3 nodes every 200 ms, push-pull 30 s), so it can be compared with Serf.
 */
export interface Timing {
  /** Time between two probe rounds. */
  probeIntervalMs: number;
  /** How long to wait for a direct ack before asking relays. */
  probeTimeoutMs: number;
  /** How many relays to ask with ping-req. */
  indirectChecks: number;
  /** Suspicion timeout floor = suspicionMult × log10(n) × probe interval. */
  suspicionMult: number;
  /** Ceiling = suspicionMaxMult × floor; the timeout starts there and falls with confirmations. */
  suspicionMaxMult: number;
  /**
   * Independent confirmations (other members suspecting the same member at the same
   * incarnation) that bring a suspicion timeout from its ceiling down to its floor. memberlist
   * derives it as SuspicionMult − 2 (2 for its LAN config). A cluster too small to produce that
   * many confirmations (fewer than this + 2 live members) starts every suspicion at the floor.
   */
  suspicionConfirmations: number;
  /** Updates are re-sent retransmitMult × ⌈log10(n + 1)⌉ times. */
  retransmitMult: number;
  gossipIntervalMs: number;
  gossipFanout: number;
  /** Anti-entropy full state exchange with a random member (scaled up for large clusters). */
  syncIntervalMs: number;
  /** How often to try a full sync with a random dead member (heals partitions). */
  reconnectIntervalMs: number;
  /** Gossip keeps reaching newly dead members this long (lets them refute after a blip). */
  gossipToDeadMs: number;
  /** How long dead and left members stay in the table before they are reaped. */
  deadRetentionMs: number;
  leftRetentionMs: number;
  /** Local health awareness: the largest multiplier applied to our own timeouts. */
  maxAwareness: number;
  /** Bytes available for piggybacked updates in one datagram. */
  packetBudget: number;
}

const lan: Timing = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 3,
  suspicionMaxMult: 6,
  suspicionConfirmations: 2,
  // memberlist uses 4. Under heavy loss an update's whole burst of re-sends can miss a node; in the
  // simulator (N=10, 30-50 % loss on UDP and TCP alike, 400 virtual minutes) 4 still gave false
  // deaths, 8 none. Idle traffic is unchanged: the queue is empty when nothing changes.
  retransmitMult: 8,
  gossipIntervalMs: 200,
  gossipFanout: 3,
  syncIntervalMs: 30_000,
  reconnectIntervalMs: 10_000,
  gossipToDeadMs: 30_000,
  deadRetentionMs: 3_600_000,
  leftRetentionMs: 300_000,
  maxAwareness: 8,
  packetBudget: 1400,
};

export const profiles = {
  lan,
  /** Loopback or one rack: everything faster. */
  local: {
    ...lan,
    probeIntervalMs: 500,
    probeTimeoutMs: 200,
    gossipIntervalMs: 100,
    syncIntervalMs: 15_000,
    reconnectIntervalMs: 5_000,
  },
  /** Across data centres: memberlist's DefaultWANConfig. */
  wan: {
    ...lan,
    probeIntervalMs: 5000,
    probeTimeoutMs: 3000,
    suspicionMult: 6,
    // memberlist's WAN config would give 6 − 2 = 4; kept at the LAN value so confirmations
    // still shorten a suspicion in small WAN clusters.
    suspicionConfirmations: 2,
    gossipIntervalMs: 500,
    gossipFanout: 4,
    syncIntervalMs: 60_000,
    reconnectIntervalMs: 30_000,
  },
} satisfies Record<string, Timing>;

export type ProfileName = keyof typeof profiles;
export const profileNames = Object.keys(profiles) as ProfileName[];

/** Suspicion timeout floor for a cluster of n members. */
export function suspicionMinMs(t: Timing, n: number): number {
  return t.suspicionMult * Math.max(1, Math.log10(Math.max(n, 1))) * t.probeIntervalMs;
}

/** How many times an update is piggybacked before it is dropped from the queue. */
export function retransmitLimit(t: Timing, n: number): number {
  return t.retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** memberlist's pushPullScale: sync less often once the cluster passes 32 members. */
export function syncIntervalFor(t: Timing, n: number): number {
  if (n <= 32) return t.syncIntervalMs;
  return t.syncIntervalMs * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1);
}
