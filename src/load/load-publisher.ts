/**
 * Publishing this node's load figure: once per probe interval (the load service's tick), refresh
 * the estimates of the peers' loads and gossip our backlog if peers' picture of it is off
 * (publish-policy decides).
 */
import type { Member } from "../membership/types.ts";
import type { LoadCounters } from "./counters.ts";
import type { PeerLoads } from "./peer-loads.ts";
import { type Published, shouldPublish } from "./publish-policy.ts";

export interface PublisherParts {
  readonly selfId: string;
  readonly capacity: number;
  /** Publish when peers' estimate is off by more than this many seconds of work. */
  readonly thresholdS: number;
  /** Our backlog in units of promised capacity (what peers divide by it). */
  readonly queue: { backlog(now: number): number };
  readonly peers: PeerLoads;
  readonly counters: LoadCounters;
  members(): readonly Readonly<Member>[];
  publish(backlog: number): void;
  now(): number;
}

export class LoadPublisher {
  #published: Published | undefined;

  constructor(private readonly p: PublisherParts) {}

  /** Refresh peer estimates (forgetting members gone) and publish our backlog if peers' picture of it is off. */
  tick(): void {
    const { p } = this;
    const now = p.now();
    const members = p.members();
    p.peers.candidates(members, p.selfId);
    const live = new Set(members.map((m) => m.info.id));
    p.peers.prune((id) => live.has(id));
    const backlog = p.queue.backlog(now);
    if (!shouldPublish(backlog, this.#published, p.thresholdS * p.capacity)) return;
    this.#published = { backlog, at: now };
    p.counters.load_published++;
    p.publish(Math.round(backlog));
  }
}
