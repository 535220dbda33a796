/**
 * The body of POST /handle_request, checked by hand (it is the hot path): clear one-line errors
 * for every way it can be wrong, never an exception.
 */
import { ADDRESS, PACKET_ID } from "../wire/shapes.ts";

export interface PacketRequest {
  processing_load: number;
  packet_id?: string;
  device_id?: string;
  /** Nodes ("ip:port") an earlier attempt of this packet went to without a clear answer. */
  tried?: string[];
  /** Any JSON value for the handler, at most MAX_PAYLOAD_BYTES as JSON. */
  payload?: unknown;
  /** Seconds the device is willing to wait for the handler's result (`"wait": true` = DEFAULT_WAIT_S). */
  wait?: number;
}

export const MAX_BODY_BYTES = 16 * 1024;
/** More than this is not a packet of work but a mistake (the seed's devices send 10–500). */
export const MAX_UNITS = 1_000_000;
const MAX_ID = 128;
const MAX_TRIED = 8;
/** A payload rides along in forwards and backup hand-offs: bounded well below the body limit. */
export const MAX_PAYLOAD_BYTES = 8 * 1024;
/** `"wait": true` waits this long for the result; an explicit wait is capped at MAX_WAIT_S. */
export const DEFAULT_WAIT_S = 30;
export const MAX_WAIT_S = 60;

export type Parsed = { ok: true; value: PacketRequest } | { ok: false; status: 400 | 413; error: string };

const bad = (error: string): Parsed => ({ ok: false, status: 400, error });

/** `Prefer: wait=N` (RFC 7240): seconds to wait for the outcome, capped; undefined when absent. */
export function preferWait(header: string | null): number | undefined {
  const m = header ? /(?:^|[,;\s])wait=(\d+(?:\.\d+)?)/i.exec(header) : null;
  return m ? Math.min(MAX_WAIT_S, Number(m[1])) : undefined;
}

export function parsePacketRequest(text: string): Parsed {
  if (text.length > MAX_BODY_BYTES) return { ok: false, status: 413, error: `body larger than ${MAX_BODY_BYTES} bytes` };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return bad("body is not valid JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return bad("body must be a JSON object");
  const o = raw as Record<string, unknown>;
  const load = o.processing_load;
  if (load === undefined) return bad("processing_load is required");
  if (typeof load !== "number") return bad(`processing_load must be a number, got ${typeof load}`);
  if (!Number.isFinite(load) || load <= 0) return bad("processing_load must be a positive number");
  if (load > MAX_UNITS) return bad(`processing_load must be at most ${MAX_UNITS}`);
  const value: PacketRequest = { processing_load: load };
  for (const key of ["packet_id", "device_id"] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== "string" || !PACKET_ID.test(v)) return bad(`${key} must be 1-${MAX_ID} printable ASCII characters`);
    value[key] = v;
  }
  if (o.tried !== undefined) {
    if (!Array.isArray(o.tried) || o.tried.length > MAX_TRIED || !o.tried.every((a) => typeof a === "string" && ADDRESS.test(a)))
      return bad(`tried must be a list of at most ${MAX_TRIED} "host:port" addresses`);
    if (value.packet_id === undefined) return bad("tried needs a packet_id");
    value.tried = o.tried as string[];
  }
  if (o.payload !== undefined) {
    if (Buffer.byteLength(JSON.stringify(o.payload)) > MAX_PAYLOAD_BYTES) return bad(`payload must be at most ${MAX_PAYLOAD_BYTES} bytes of JSON`);
    value.payload = o.payload;
  }
  if (o.wait !== undefined && o.wait !== false) {
    const w = o.wait === true ? DEFAULT_WAIT_S : o.wait;
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) return bad("wait must be true, false or a number of seconds");
    if (w > 0) value.wait = Math.min(MAX_WAIT_S, w);
  }
  return { ok: true, value };
}
