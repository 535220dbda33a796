/**
 * Feeds the dashboard's Server-Sent Events: membership events as they happen, forward tallies,
 * and a snapshot (members, this node's status, cluster figures) every second while anyone
 * listens. Nothing runs when no one is subscribed.
 */
import { type PeerView, peerView } from "../http/peer-view.ts";
import type { NodeMetrics } from "../metrics/node-metrics.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import { type ClusterFigures, fetchStats, type NodeStats, RateTracker } from "./cluster-stats.ts";
import { ForwardTally, memberEntry, RecentEntries, type TimelineEntry } from "./timeline.ts";

export type Send = (event: string, data: unknown) => void;

export interface Snapshot {
  at: number;
  node: { id: string; name: string; addr: string };
  members: PeerView[];
  cluster: ClusterFigures;
}

export class EventHub {
  readonly #subscribers = new Set<Send>();
  readonly #recent = new RecentEntries();
  readonly #forwards = new ForwardTally();
  readonly #rates = new RateTracker();
  #timer: ReturnType<typeof setInterval> | undefined;
  #cluster: ClusterFigures = { requests_per_s: 0, devices_active: 0, nodes: {} };
  #polling = false;
  #snapshotQueued = false;

  constructor(
    private readonly node: EdgeNode,
    private readonly metrics: NodeMetrics,
    readonly maxSubscribers = 64,
    private readonly intervalMs = 1000,
    /** Sent with every poll of a peer's /stats (its credential). */
    private readonly peerHeaders: Record<string, string> = {},
  ) {
    node.onEvent((e) => {
      this.#publish(memberEntry(e, Date.now(), (id) => node.swim.member(id)?.info.name));
      this.#queueSnapshot();
    });
    metrics.onRequest((outcome, r) => {
      // Tallied only while someone watches: the tally is flushed by the watchers' ticks.
      if (outcome === "forwarded" && this.#subscribers.size > 0) this.#forwards.add((r.to ?? "a peer").slice(0, 300));
    });
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Add a client; it gets a hello (who serves it, recent timeline) and a snapshot at once. Returns the unsubscribe function, or undefined when full. */
  subscribe(send: Send): (() => void) | undefined {
    if (this.#subscribers.size >= this.maxSubscribers) return undefined;
    this.#subscribers.add(send);
    send("hello", { node: this.#self(), timeline: this.#recent.list(), interval_ms: this.intervalMs });
    send("snapshot", this.snapshot());
    this.#timer ??= setInterval(() => this.#tick(), this.intervalMs);
    return () => {
      this.#subscribers.delete(send);
      if (this.#subscribers.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  /** Keep an entry for later clients and send it to the current ones. */
  #publish(entry: TimelineEntry): void {
    this.#recent.push(entry);
    this.#broadcast("timeline", entry);
  }

  snapshot(): Snapshot {
    const selfId = this.node.identity.id;
    return { at: Date.now(), node: this.#self(), members: this.node.swim.members().map((m) => peerView(m, selfId)), cluster: this.#cluster };
  }

  #tick(): void {
    const now = Date.now();
    const nameOf = (addr: string) => this.node.swim.members().find((m) => m.info.http === addr)?.info.name;
    for (const e of this.#forwards.flush(now, this.#self(), nameOf)) this.#publish(e);
    this.#rates.observe(now, this.#ownStats(now));
    const alive = this.node.swim.members().filter((m) => m.state === "alive" || m.info.id === this.node.identity.id);
    this.#cluster = this.#rates.figures(alive.map((m) => m.info.id));
    this.#broadcast("snapshot", this.snapshot());
    void this.#pollPeers();
  }

  /** Refresh peers' request figures in the background; a slow peer never delays a snapshot. */
  async #pollPeers(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const selfId = this.node.identity.id;
      const alive = this.node.swim.members().filter((m) => m.state === "alive" && m.info.id !== selfId);
      await Promise.all(
        alive.map(async (m) => {
          const s = await fetchStats(m.info.http, Math.max(200, this.intervalMs - 100), this.peerHeaders);
          if (s && s.id === m.info.id) this.#rates.observe(Date.now(), s);
        }),
      );
    } finally {
      this.#polling = false;
    }
  }

  #ownStats(now: number): NodeStats {
    return { id: this.node.identity.id, requests: { ...this.metrics.requests.totals }, devices: this.metrics.requests.activeDevices(now) };
  }

  /** Several events in one turn produce one snapshot. */
  #queueSnapshot(): void {
    if (this.#snapshotQueued || this.#subscribers.size === 0) return;
    this.#snapshotQueued = true;
    queueMicrotask(() => {
      this.#snapshotQueued = false;
      this.#broadcast("snapshot", this.snapshot());
    });
  }

  #broadcast(event: string, data: unknown): void {
    for (const send of this.#subscribers) send(event, data);
  }

  #self(): Snapshot["node"] {
    const s = this.node.swim.self;
    return { id: s.id, name: s.name, addr: s.http };
  }

  /** This node's figures for peers' dashboards (GET /stats). */
  stats(): NodeStats {
    return this.#ownStats(Date.now());
  }
}
