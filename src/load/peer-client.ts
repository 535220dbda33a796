/**
 * The request path's PeerClient over HTTP: POST /handle_request to hand over a packet, POST
 * /packets/ask to ask about one, GET /packets/:id for what became of one, POST
 * /packets/replica to hand packets to a backup. All go through peerFetch (https with TLS, the
 * node authentication in a secured cluster). Every failure becomes an outcome, never an exception.
 */
import { peerFetch } from "../ports/peer-http.ts";
import { isConnectionRefused } from "../util/connection-refused.ts";
import type { PacketStatus } from "./outcomes.ts";
import type { AcceptedReply, AskOutcome, ForwardOutcome, PeerClient, ReplicaBatch, ReplicateOutcome, StatusOutcome } from "./peer-protocol.ts";
import type { PacketRequest } from "./request-body.ts";

export const HOP_HEADER = "x-dsef-hop";

/** Most `maybe_at` hints taken from one answer. */
const MAX_HINTS = 8;

export const REPLICA_PATH = "/packets/replica";

/** The PeerClient over HTTP (peerFetch signs node-only requests in a secured cluster). */
export const httpPeerClient: PeerClient = { forward: forwardPacket, ask: askPeer, status: packetStatus, replicate };

async function replicate(http: string, batch: ReplicaBatch, timeoutMs: number): Promise<ReplicateOutcome> {
  let res: Response;
  try {
    res = await peerFetch(http, REPLICA_PATH, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(batch),
      signal: AbortSignal.timeout(timeoutMs),
      sign: true,
    });
  } catch (e) {
    return isConnectionRefused(e) ? { kind: "refused", reason: "refused" } : { kind: "failed", reason: (e as Error).name || "network error" };
  }
  void res.body?.cancel();
  if (res.status === 200) return { kind: "kept" };
  return (res.status >= 400 && res.status < 500) || res.status === 503
    ? { kind: "refused", reason: `HTTP ${res.status}` }
    : { kind: "failed", reason: `HTTP ${res.status}` };
}

const STATES = new Set(["queued", "running", "done", "failed"]);

async function packetStatus(http: string, packetId: string, waitS: number, timeoutMs: number): Promise<StatusOutcome> {
  try {
    const res = await peerFetch(http, `/packets/${encodeURIComponent(packetId)}`, {
      headers: { [HOP_HEADER]: "1", ...(waitS > 0 ? { prefer: `wait=${waitS}` } : {}) },
      sign: true,
      signal: AbortSignal.timeout(timeoutMs + waitS * 1000),
    });
    if (res.status === 404) {
      void res.body?.cancel();
      return { kind: "unknown" };
    }
    if (!res.ok) {
      void res.body?.cancel();
      return { kind: "unreachable" };
    }
    const s = (await res.json()) as PacketStatus;
    return s?.packet_id === packetId && STATES.has(s.state) && typeof s.handled_by === "string" ? { kind: "found", status: s } : { kind: "unreachable" };
  } catch {
    return { kind: "unreachable" };
  }
}

async function forwardPacket(http: string, body: PacketRequest, hop: number, timeoutMs: number): Promise<ForwardOutcome> {
  let res: Response;
  try {
    res = await peerFetch(http, "/handle_request", {
      headers: { "content-type": "application/json", [HOP_HEADER]: String(hop) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      sign: true,
    });
  } catch (e) {
    return isConnectionRefused(e) ? { kind: "declined", reason: "refused" } : { kind: "unclear", reason: (e as Error).name || "network error" };
  }
  if (res.status === 200) {
    try {
      const reply = (await res.json()) as AcceptedReply;
      if (reply?.status === "accepted" && typeof reply.handled_by === "string") return { kind: "accepted", reply };
    } catch {
      // fall through: a 200 we cannot read may still have been taken
    }
    return { kind: "unclear", reason: "unreadable reply" };
  }
  void res.body?.cancel();
  if (res.status === 503 || (res.status >= 400 && res.status < 500)) return { kind: "declined", reason: `HTTP ${res.status}` };
  return { kind: "unclear", reason: `HTTP ${res.status}` };
}

async function askPeer(http: string, packetId: string, asker: string, timeoutMs: number): Promise<AskOutcome> {
  try {
    const res = await peerFetch(http, "/packets/ask", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ packet_id: packetId, asker: asker }),
      signal: AbortSignal.timeout(timeoutMs),
      sign: true,
    });
    if (!res.ok) {
      void res.body?.cancel();
      return res.status >= 400 && res.status < 500 ? { kind: "gone" } : { kind: "silent" };
    }
    const r = (await res.json()) as { seen?: boolean; handled_by?: string; pending?: boolean; maybe_at?: unknown };
    if (r?.seen === false) {
      const hints = Array.isArray(r.maybe_at) ? r.maybe_at.filter((a): a is string => typeof a === "string").slice(0, MAX_HINTS) : [];
      return hints.length > 0 ? { kind: "new", maybeAt: hints } : { kind: "new" };
    }
    return r?.seen === true && typeof r.handled_by === "string" ? { kind: "seen", handledBy: r.handled_by, pending: r.pending === true } : { kind: "silent" };
  } catch (e) {
    return isConnectionRefused(e) ? { kind: "gone" } : { kind: "silent" };
  }
}
