/**
 * What runs a packet. Two shapes:
 * - `timed`: the built-in synthetic handler. A packet of `processing_load` units holds the one
 *   slot for units / promised capacity seconds; the queue times it on its own clock, so the
 *   backlog is exactly the seed's draining queue and packets still start and finish.
 * - `async`: a user handler (Workers, worker-pool.ts) or a local service (upstream.ts). It takes
 *   what it takes; the queue measures it (service-rate.ts).
 */

/** What a handler is given: the packet as the device sent it, with its id. */
export interface HandlerPacket {
  packet_id: string;
  device_id?: string;
  processing_load: number;
  payload?: unknown;
}

export interface HandlerContext {
  /** "ip:port" of the node running it. */
  node: string;
  /**
   * True when this node runs the packet because its owner died: the owner may have started or
   * even finished it, so a handler with side effects should be idempotent on `packet_id`.
   */
  takeover: boolean;
  /** Milliseconds the handler has before it is failed (and its Worker replaced). */
  timeout_ms: number;
}

/** `ms`: how long the handler itself ran, when the executor measured it (else the queue does). */
export type Outcome = { ok: true; result: unknown; ms?: number } | { ok: false; error: string; ms?: number };

/** Results are stored and sent back to devices: bounded. */
export const MAX_RESULT_BYTES = 64 * 1024;

export interface TimedExecutor {
  readonly kind: "timed";
  readonly name: "synthetic";
  readonly slots: 1;
}

export interface AsyncExecutor {
  readonly kind: "async";
  /** "handler <path>" or "upstream <url>", for /status. */
  readonly name: string;
  readonly slots: number;
  /** Packets that really run at the same time (default: slots; a pool hands Workers a few ahead). */
  readonly parallel?: number;
  /** Never rejects: every failure (throw, timeout, crash, bad result) is an Outcome. */
  run(packet: HandlerPacket, ctx: HandlerContext): Promise<Outcome>;
  close(): Promise<void>;
  stats?(): Record<string, number>;
}

export type Executor = TimedExecutor | AsyncExecutor;

export const synthetic: TimedExecutor = { kind: "timed", name: "synthetic", slots: 1 };

/** A handler's return value as a stored result: JSON, at most MAX_RESULT_BYTES; else a failure. */
export function checkResult(value: unknown): Outcome {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch (e) {
    return { ok: false, error: `result is not JSON: ${(e as Error).message}` };
  }
  if (text === undefined) return { ok: false, error: "result is not JSON" };
  if (Buffer.byteLength(text) > MAX_RESULT_BYTES) return { ok: false, error: `result larger than ${MAX_RESULT_BYTES} bytes` };
  return { ok: true, result: value ?? null };
}
