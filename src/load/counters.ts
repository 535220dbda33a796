/**
 * What the load service counts, shown under `load` in /status and read by the metrics. One
 * record shared by the parts that count (the request path, the duplicate check's answering
 * side, the publisher); each part increments its own fields.
 */
import type { IdempotencyWindow } from "./idempotency.ts";
import type { Outcomes } from "./outcomes.ts";
import type { PacketQueue } from "./packet-queue.ts";

export interface LoadCounters {
  accepted: number;
  forwarded: number;
  rejected: number;
  /** Of `rejected`: a device over its share of the queue while the node paced (pacer.ts). */
  unfair: number;
  duplicates: number;
  bad_requests: number;
  forward_failures: number;
  asks_served: number;
  /** 503s because a copy of the packet was being handled at that moment. */
  in_progress: number;
  /** 503s because a live node that may have the packet did not answer in time (frozen or slow). */
  unanswered_checks: number;
  load_published: number;
  /** 503s because no backup node would keep the packet. */
  not_kept: number;
}

export function zeroCounters(): LoadCounters {
  return {
    accepted: 0,
    forwarded: 0,
    rejected: 0,
    unfair: 0,
    duplicates: 0,
    bad_requests: 0,
    forward_failures: 0,
    asks_served: 0,
    in_progress: 0,
    unanswered_checks: 0,
    load_published: 0,
    not_kept: 0,
  };
}

/**
 * The figures under `load` in /status: the queue's state (capacity is measured for a user
 * handler, `promised_capacity` its ceiling), the counters, the bounded stores' sizes.
 */
export function loadStats(
  queue: PacketQueue,
  window: IdempotencyWindow,
  outcomes: Outcomes,
  counters: LoadCounters,
  now: number,
): Record<string, number | string> {
  const seconds = queue.seconds(now);
  const ex = queue.executor;
  return {
    handler: ex.name,
    capacity: round(queue.capacity()),
    promised_capacity: queue.promised,
    backlog: round(seconds * queue.promised),
    load_ratio: round(seconds, 4),
    queued: queue.queued,
    running: queue.running,
    slots: ex.slots,
    done: queue.done,
    failed: queue.failed,
    ...counters,
    units_accepted: round(queue.added),
    units_processed: round(queue.processed(now)),
    idempotency_window: window.size,
    idempotency_window_bytes: window.bytes,
    results_kept: outcomes.size,
    waiting_for_results: outcomes.waiting,
    ...(ex.kind === "async" ? ex.stats?.() : {}),
  };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
