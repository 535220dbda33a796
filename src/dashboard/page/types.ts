/** What the node sends over /events (see ../event-hub.ts); duplicated as plain types for the page bundle. */
export interface PeerView {
  id: string;
  name: string;
  ip: string;
  port: number;
  state: "alive" | "suspect" | "dead" | "left";
  incarnation: number;
  promised_capacity: number;
  last_change: string;
  self: boolean;
  current_load?: number;
  load_ratio?: number;
}

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
}
