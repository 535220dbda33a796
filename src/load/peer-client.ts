/**
 * The two calls one node makes to another on the request path: hand over a packet, and ask
 * whether a packet id was already seen there. Outcomes are classified for the retry logic:
 * only an "unclear" outcome (timeout, reset, 5xx other than 503) may mean the peer did take it.
 */
import type { PacketRequest } from "./request-body.ts";

export const HOP_HEADER = "x-dsef-hop";

export interface AcceptedReply {
  status: "accepted";
  handled_by: string;
  duplicate?: boolean;
  [k: string]: unknown;
}

export type ForwardOutcome =
  | { kind: "accepted"; reply: AcceptedReply }
  /** The peer certainly did not take it (refused, 503, 4xx). */
  | { kind: "declined"; reason: string }
  /** The peer may or may not have taken it. */
  | { kind: "unclear"; reason: string };

export async function forwardPacket(http: string, body: PacketRequest, hop: number, timeoutMs: number): Promise<ForwardOutcome> {
  let res: Response;
  try {
    res = await fetch(`http://${http}/handle_request`, {
      method: "POST",
      headers: { "content-type": "application/json", [HOP_HEADER]: String(hop) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    return isRefusal(e) ? { kind: "declined", reason: "refused" } : { kind: "unclear", reason: (e as Error).name || "network error" };
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

export type AskOutcome =
  /** `pending`: the peer is handling a request for it right now, outcome unknown. */
  | { kind: "seen"; handledBy: string; pending: boolean }
  /** Not seen there; `maybeAt`: nodes that, by what the peer knows, may have it. */
  | { kind: "new"; maybeAt?: string[] }
  /**
   * It cannot answer, and waiting will not change that: connection refused (no process listens
   * there, so no queue either: it crashed or left) or a 4xx (it does not know the question).
   */
  | { kind: "gone" }
  /** Timeout, reset, 5xx or a bad reply: the peer may be frozen or slow and may well have the packet. */
  | { kind: "silent" };

/**
 * Ask the node at `http` about `packetId`. A node that knows nothing remembers that `asker`
 * asked, so if the original arrives there later it checks with `asker` before taking it.
 */
export async function askPeer(http: string, packetId: string, asker: string, timeoutMs: number): Promise<AskOutcome> {
  try {
    const res = await fetch(`http://${http}/packets/ask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ packet_id: packetId, asker: asker }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      void res.body?.cancel();
      return res.status >= 400 && res.status < 500 ? { kind: "gone" } : { kind: "silent" };
    }
    const r = (await res.json()) as { seen?: boolean; handled_by?: string; pending?: boolean; maybe_at?: unknown };
    if (r?.seen === false) {
      const hints = Array.isArray(r.maybe_at) ? r.maybe_at.filter((a): a is string => typeof a === "string").slice(0, 8) : [];
      return hints.length > 0 ? { kind: "new", maybeAt: hints } : { kind: "new" };
    }
    return r?.seen === true && typeof r.handled_by === "string" ? { kind: "seen", handledBy: r.handled_by, pending: r.pending === true } : { kind: "silent" };
  } catch (e) {
    return isRefusal(e) ? { kind: "gone" } : { kind: "silent" };
  }
}

function isRefusal(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === "ConnectionRefused" || code === "ECONNREFUSED";
}
