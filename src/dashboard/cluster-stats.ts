/**
 * Cluster-wide request figures for the dashboard: this node's counters plus every alive peer's
 * GET /stats, fetched server-side (the browser may not reach every node), turned into rates.
 */
import type { RequestTotals } from "../metrics/request-stats.ts";
import { peerFetch } from "../ports/peer-http.ts";

export interface NodeStats {
  id: string;
  requests: RequestTotals;
  devices: string[];
}

export interface NodeRate {
  /** Requests answered per second (accepted + forwarded + rejected) over the last interval. */
  rps: number;
  accepted: number;
  forwarded: number;
  rejected: number;
}

export interface ClusterFigures {
  /** Requests entering the cluster per second: each is accepted or rejected by exactly one node (forwards are not counted twice). */
  requests_per_s: number;
  devices_active: number;
  nodes: Record<string, NodeRate>;
}

const answered = (t: RequestTotals) => t.accepted + t.forwarded + t.rejected;
const settled = (t: RequestTotals) => t.accepted + t.rejected;

/** Turns successive totals per node, each observed when fresh, into rates. Pure. */
export class RateTracker {
  #nodes = new Map<string, { at: number; stats: NodeStats; rps: number; settledPs: number }>();

  observe(now: number, s: NodeStats): void {
    const prev = this.#nodes.get(s.id);
    let rps = prev?.rps ?? 0;
    let settledPs = prev?.settledPs ?? 0;
    if (prev && now > prev.at) {
      // A restarted node's counters start again from zero: a fall is a fresh start, not a negative rate.
      const rate = (f: (t: RequestTotals) => number) => Math.max(0, ((f(s.requests) - f(prev.stats.requests)) * 1000) / (now - prev.at));
      rps = rate(answered);
      settledPs = rate(settled);
    }
    this.#nodes.set(s.id, { at: now, stats: s, rps, settledPs });
  }

  /** Figures over the given nodes (the alive ones); others are forgotten. */
  figures(ids: readonly string[]): ClusterFigures {
    const keep = new Set(ids);
    for (const id of this.#nodes.keys()) if (!keep.has(id)) this.#nodes.delete(id);
    const nodes: Record<string, NodeRate> = {};
    const devices = new Set<string>();
    let rps = 0;
    for (const [id, n] of this.#nodes) {
      nodes[id] = { rps: n.rps, ...n.stats.requests };
      rps += n.settledPs;
      for (const d of n.stats.devices) devices.add(d);
    }
    return { requests_per_s: rps, devices_active: devices.size, nodes };
  }
}

/** Fetch a peer's /stats; undefined when it does not answer in time or answers nonsense. */
export async function fetchStats(http: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<NodeStats | undefined> {
  try {
    const res = await peerFetch(http, "/stats", { signal: AbortSignal.timeout(timeoutMs), headers, sign: true });
    if (!res.ok) return undefined;
    const b = (await res.json()) as Partial<NodeStats>;
    const r = b.requests;
    if (typeof b.id !== "string" || !r || ![r.accepted, r.forwarded, r.rejected].every((n) => typeof n === "number")) return undefined;
    return {
      id: b.id,
      requests: { accepted: r.accepted, forwarded: r.forwarded, rejected: r.rejected },
      devices: Array.isArray(b.devices) ? b.devices.filter((d) => typeof d === "string") : [],
    };
  } catch {
    return undefined;
  }
}
