/** What a LoadService is built from: its options, what it needs from the node, its clock. */
import type { Logger } from "../log/logger.ts";
import type { Member, Tags } from "../membership/types.ts";
import type { Executor } from "./executor.ts";
import type { PeerClient } from "./peer-protocol.ts";
import type { RoutePolicy } from "./router.ts";
import type { Ticker } from "./ticker.ts";

export interface LoadOptions {
  readonly selfId: string;
  /** "ip:port" of this node's HTTP API. */
  readonly selfHttp: string;
  readonly capacity: number;
  readonly policy: RoutePolicy;
  readonly forwardTimeoutMs: number;
  readonly askTimeoutMs: number;
  readonly windowTtlMs: number;
  readonly windowMaxEntries: number;
  /** How often to consider publishing the backlog (the probe interval). */
  readonly publishEveryMs: number;
  /** Publish when peers' estimate is off by more than this many seconds of work. */
  readonly publishThresholdS: number;
  /** What runs each packet (default: the synthetic handler). */
  readonly executor?: Executor;
  /** Per-packet limit for a user handler (milliseconds). */
  readonly handlerTimeoutMs?: number;
  /** Bounds of the copies kept for other nodes (backups.ts). */
  readonly backupMaxPackets?: number;
  readonly backupMaxBytes?: number;
  /** Forward to peers carrying these tags first (--prefer-tag); none: every peer alike. */
  readonly preferTags?: Tags;
}

/** What the service needs from the running node. */
export interface LoadHost {
  members(): readonly Readonly<Member>[];
  publish(backlog: number): void;
  /** How to reach other nodes (peer-client.ts over HTTP; a fake in tests). */
  readonly peerClient: PeerClient;
  readonly log: Logger;
  /** Told about every answered packet request (metrics). */
  answered?(status: number, body: Record<string, unknown>, seconds: number, deviceId?: string): void;
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Clock, randomness and timers; the defaults are the real ones. */
export interface LoadEnv {
  now?: () => number;
  random?: () => number;
  ticker?: Ticker;
  /** Timers of the packet queue (the synthetic handler's finishing times). */
  setTimer?: (ms: number, fn: () => void) => () => void;
}
