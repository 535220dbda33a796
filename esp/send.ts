import { DEVICE_AUTH_HEADER, signPacket } from "../src/identity/device-auth.ts";
import { isConnectionRefused } from "../src/util/connection-refused.ts";

/** --tls-ca: the nodes speak https, verified against this CA; with --tls-any-node-name, whatever address a certificate names. */
export interface DeviceTls {
  readonly ca: string;
  readonly checkServerIdentity?: () => undefined;
}

/** One HTTP attempt of a packet, with the outcome classified for failover. */
export type Attempt =
  /** `paceMs`: the node asks for the next packet no sooner than this (it is busy). */
  | { kind: "accepted"; handledBy: string; redirected?: string; duplicate: boolean; ratio?: number; paceMs?: number }
  /** Nothing listens there: the node is down; it never saw the packet. */
  | { kind: "refused" }
  /** Saturated or busy with this packet: try again after Retry-After. */
  | { kind: "busy"; retryAfterMs: number }
  /** Our packet is wrong (4xx): retrying will not help. */
  | { kind: "client-error"; status: number; error: string }
  /** Timeout, reset, 5xx: the node may or may not have taken it. */
  | { kind: "unclear"; reason: string };

export interface Packet {
  packet_id: string;
  device_id: string;
  processing_load: number;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined);

/** `key`: the device's own key (--device-key): every attempt is signed afresh (its time moves on). */
export async function attempt(http: string, p: Packet, tried: readonly string[], timeoutMs: number, key?: string, tls?: DeviceTls): Promise<Attempt> {
  let res: Response;
  try {
    const body = JSON.stringify(tried.length > 0 ? { ...p, tried: tried.slice(-8) } : p);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (key) headers[DEVICE_AUTH_HEADER] = signPacket(key, p.packet_id, p.device_id, body, Date.now(), http);
    res = await fetch(`${tls ? "https" : "http"}://${http}/handle_request`, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
      ...(tls ? { tls } : {}),
    });
  } catch (e) {
    if (isConnectionRefused(e)) return { kind: "refused" };
    return { kind: "unclear", reason: (e as Error).name === "TimeoutError" ? "timeout" : (e as { code?: string }).code || (e as Error).message };
  }
  let body: Record<string, unknown> = {};
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    // judged by status alone
  }
  if (res.status === 200 && body.status === "accepted" && typeof body.handled_by === "string") {
    return {
      kind: "accepted",
      handledBy: body.handled_by,
      redirected: typeof body.redirected === "string" ? body.redirected : undefined,
      duplicate: body.duplicate === true,
      ratio: num(body.load_ratio),
      paceMs: num(body.pace_ms),
    };
  }
  // 429: this device's address is over the node's fair-use limits; like 503, come back after Retry-After.
  if (res.status === 503 || res.status === 429) {
    // The body's milliseconds are more precise than the header's whole seconds.
    const ms = num(body.retry_after_ms) ?? 1000 * (Number(res.headers.get("retry-after")) || 1);
    return { kind: "busy", retryAfterMs: ms };
  }
  if (res.status >= 400 && res.status < 500) return { kind: "client-error", status: res.status, error: String(body.error ?? "") };
  return { kind: "unclear", reason: `HTTP ${res.status}` };
}
