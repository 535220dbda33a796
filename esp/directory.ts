/**
 * The simulator's list of edge nodes: discovered from any node's /peers, refreshed
 * periodically, and corrected between refreshes by what devices observe (a refused connection
 * marks a node down for a while; an accept reply carries the node's current load ratio).
 */
import type { PeerView } from "../src/http/peer-view.ts";
import { weightedDraw } from "../src/load/balancer.ts";
import { hasTags } from "../src/membership/tags.ts";
import type { Tags } from "../src/membership/types.ts";
import { joinAddress } from "../src/util/address.ts";
import type { DeviceTls } from "./send.ts";

export interface NodeEntry {
  http: string;
  capacity: number;
  ratio: number;
  /** Local time until which devices avoid it (refused or timed out). */
  downUntil: number;
  /** Carries the --prefer-tag tags (same site). */
  preferred: boolean;
}

/** Prefer a lighter node only when it is clearly lighter (stale figures must not herd devices). */
const CLEARLY_LIGHTER_S = 0.5;
/** A preferred node this busy counts as full: devices go off site (nodes refuse at 5 s by default). */
const FULL_S = 4;

export class Directory {
  readonly nodes = new Map<string, NodeEntry>();

  constructor(
    readonly bootstrap: readonly string[],
    private readonly timeoutMs: number,
    /** https to the nodes (--tls-ca), headers for /peers (DSEF_API_TOKEN on a node with --api-token), tags to prefer (--prefer-tag). */
    private readonly via: { tls?: DeviceTls; headers?: Record<string, string>; prefer?: Tags } = {},
  ) {
    for (const b of bootstrap) this.nodes.set(b, { http: b, capacity: 1, ratio: 0, downUntil: 0, preferred: false });
  }

  /** Re-read the member list from the first node that answers. Returns whether one did. */
  async refresh(random: () => number): Promise<boolean> {
    const now = performance.now();
    const known = [...this.nodes.values()];
    const order = [...known.filter((n) => n.downUntil <= now), ...known.filter((n) => n.downUntil > now), ...this.bootstrap.map((http) => ({ http }))];
    const start = Math.floor(random() * Math.max(1, order.length));
    for (let i = 0; i < order.length; i++) {
      const n = order[(start + i) % order.length]!;
      try {
        const tls = this.via.tls;
        const res = await fetch(`${tls ? "https" : "http"}://${n.http}/peers`, {
          signal: AbortSignal.timeout(this.timeoutMs),
          headers: this.via.headers,
          ...(tls ? { tls } : {}),
        });
        if (!res.ok) continue;
        const rows = (await res.json()) as PeerView[];
        this.#replace(rows);
        return true;
      } catch {
        // try the next one
      }
    }
    return false;
  }

  #replace(rows: readonly PeerView[]): void {
    const seen = new Set<string>();
    for (const r of rows) {
      if (r.state !== "alive" || typeof r.ip !== "string" || typeof r.port !== "number") continue;
      const http = joinAddress(r.ip, r.port);
      seen.add(http);
      const e = this.nodes.get(http);
      const capacity = r.promised_capacity > 0 ? r.promised_capacity : 1;
      const preferred = this.via.prefer !== undefined && hasTags(r.tags, this.via.prefer);
      if (e) {
        e.capacity = capacity;
        e.ratio = r.load_ratio ?? 0;
        e.preferred = preferred;
      } else this.nodes.set(http, { http, capacity, ratio: r.load_ratio ?? 0, downUntil: 0, preferred });
    }
    for (const http of this.nodes.keys()) if (!seen.has(http)) this.nodes.delete(http);
  }

  /**
   * Two capacity-weighted draws among usable nodes; the clearly lighter one wins. With
   * --prefer-tag, among the preferred nodes that are up and not full, when there are any.
   */
  choose(random: () => number, avoid: ReadonlySet<string>): string | undefined {
    const now = performance.now();
    let usable = [...this.nodes.values()].filter((n) => n.downUntil <= now && !avoid.has(n.http));
    const site = usable.filter((n) => n.preferred && n.ratio < FULL_S);
    if (site.length > 0) usable = site;
    if (usable.length === 0) usable = [...this.nodes.values()].filter((n) => !avoid.has(n.http));
    if (usable.length === 0) usable = [...this.nodes.values()];
    const a = weightedDraw(usable, random);
    const b = weightedDraw(usable, random);
    if (!a || !b) return (a ?? b)?.http;
    return b.ratio + CLEARLY_LIGHTER_S < a.ratio ? b.http : a.http;
  }

  isUsable(http: string): boolean {
    const n = this.nodes.get(http);
    return n !== undefined && n.downUntil <= performance.now();
  }

  markDown(http: string, forMs: number): void {
    const n = this.nodes.get(http);
    if (n) n.downUntil = performance.now() + forMs;
  }

  noteRatio(http: string, ratio: number): void {
    const n = this.nodes.get(http);
    if (n && Number.isFinite(ratio)) n.ratio = ratio;
  }

  /** A node we were pointed at (a redirect) that the list does not have yet. */
  learn(http: string): void {
    if (!this.nodes.has(http)) this.nodes.set(http, { http, capacity: 1, ratio: 0, downUntil: 0, preferred: false });
  }
}
