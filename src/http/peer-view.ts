import type { Member } from "../membership/types.ts";
import { splitAddress } from "../util/address.ts";
import { rangeOf } from "../wire/protocol.ts";

/** A member as the HTTP API shows it (the seed's field names where it had them). */
export interface PeerView {
  id: string;
  name: string;
  ip: string;
  port: number;
  gossip_port: number;
  state: Member["state"];
  incarnation: number;
  promised_capacity: number;
  last_change: string;
  self: boolean;
  current_load?: number;
  load_ratio?: number;
  tags?: Record<string, string>;
  /** The wire protocol versions it speaks. */
  protocol?: { min: number; max: number };
}

/** The core's clock is epoch-scaled (see monotonicNow), so its times print as dates. */
export function peerView(m: Readonly<Member>, selfId: string): PeerView {
  const { host, port } = splitAddress(m.info.http);
  const v: PeerView = {
    id: m.info.id,
    name: m.info.name,
    ip: host,
    port,
    gossip_port: splitAddress(m.info.gossip).port,
    state: m.state,
    incarnation: m.incarnation,
    promised_capacity: m.info.capacity,
    last_change: new Date(m.changedAt).toISOString(),
    self: m.info.id === selfId,
    tags: { ...m.info.tags },
    protocol: { ...rangeOf(m.info.protocol) },
  };
  if (m.load) {
    v.current_load = m.load.backlog;
    v.load_ratio = m.info.capacity > 0 ? m.load.backlog / m.info.capacity : 0;
  }
  return v;
}
