/** What the node sends over /events (see ../event-hub.ts); as plain types for the page bundle (type imports are erased). */
export type { PeerView } from "../../http/peer-view.ts";

import type { PeerView } from "../../http/peer-view.ts";

export interface NodeRate {
  rps: number;
  accepted: number;
  forwarded: number;
  rejected: number;
}

export interface Snapshot {
  at: number;
  node: { id: string; name: string; addr: string };
  members: PeerView[];
  cluster: { requests_per_s: number; devices_active: number; nodes: Record<string, NodeRate> };
}

export interface TimelineEntry {
  at: number;
  kind: string;
  id: string;
  name: string;
  addr: string;
  text: string;
  incarnation?: number;
}

export interface Hello {
  node: { id: string; name: string; addr: string };
  timeline: TimelineEntry[];
  interval_ms: number;
  /** With --api-token: a short-lived credential for /events on the other nodes (failover). */
  ticket?: string;
}
