/**
 * What the load service counts, shown under `load` in /status and read by the metrics. One
 * record shared by the parts that count (the request path, the duplicate check's answering
 * side, the publisher); each part increments its own fields.
 */
import type { IdempotencyWindow } from "./idempotency.ts";
import type { WorkQueue } from "./work-queue.ts";

export interface LoadCounters {
  accepted: number;
  forwarded: number;
  rejected: number;
  duplicates: number;
  bad_requests: number;
  forward_failures: number;
  asks_served: number;
  /** 503s because a copy of the packet was being handled at that moment. */
  in_progress: number;
  /** 503s because a live node that may have the packet did not answer in time (frozen or slow). */
  unanswered_checks: number;
  load_published: number;
}

export function zeroCounters(): LoadCounters {
  return {
    accepted: 0,
    forwarded: 0,
    rejected: 0,
    duplicates: 0,
    bad_requests: 0,
    forward_failures: 0,
    asks_served: 0,
    in_progress: 0,
    unanswered_checks: 0,
    load_published: 0,
  };
}

/** The figures under `load` in /status: the queue's state, the counters, the window's size. */
export function loadStats(capacity: number, queue: WorkQueue, window: IdempotencyWindow, counters: LoadCounters, now: number): Record<string, number> {
  const backlog = queue.backlog(now);
  return {
    capacity,
    backlog: round(backlog),
    load_ratio: round(backlog / capacity, 4),
    ...counters,
    units_accepted: round(queue.added),
    units_processed: round(queue.processed(now)),
    idempotency_window: window.size,
    idempotency_window_bytes: window.bytes,
  };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
