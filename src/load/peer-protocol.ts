/**
 * The two calls one node makes to another on the request path: hand over a packet, and ask
 * whether a packet id was already seen there. The request path depends on this interface only;
 * peer-client.ts implements it over HTTP, tests with a fake. Outcomes are classified for the
 * retry logic: only an "unclear" forward (timeout, reset, 5xx other than 503) may mean the peer
 * did take the packet.
 */
import type { PacketStatus } from "./outcomes.ts";
import type { HeldPacket } from "./replica-store.ts";
import type { PacketRequest } from "./request-body.ts";

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

export type StatusOutcome =
  | { kind: "found"; status: PacketStatus }
  /** The peer answered and knows nothing of it. */
  | { kind: "unknown" }
  /** No usable answer (timeout, refused, bad reply). */
  | { kind: "unreachable" };

/** One hand-off from an owner to its backup: packets to keep, and ids that are done. */
export interface ReplicaBatch {
  owner: string;
  owner_http: string;
  /** Differs on every start of the owner: a new one means its previous queue is gone. */
  boot: string;
  keep: HeldPacket[];
  done: string[];
}

export type ReplicateOutcome =
  | { kind: "kept" }
  /** The backup certainly keeps none of it (full, refused the credential, connection refused). */
  | { kind: "refused"; reason: string }
  /** No clear answer (timeout, reset, 5xx): it may keep them. */
  | { kind: "failed"; reason: string };

export interface PeerClient {
  /** Hand `body` to the node at `http` (its "ip:port"); `hop` counts the nodes it passed through. */
  forward(http: string, body: PacketRequest, hop: number, timeoutMs: number): Promise<ForwardOutcome>;
  /**
   * Ask the node at `http` about `packetId`. A node that knows nothing remembers that `asker`
   * asked, so if the original arrives there later it checks with `asker` before taking it.
   */
  ask(http: string, packetId: string, asker: string, timeoutMs: number): Promise<AskOutcome>;
  /**
   * What the node at `http` knows of `packetId` by itself (it does not ask further), waiting up
   * to `waitS` seconds for it to finish there.
   */
  status(http: string, packetId: string, waitS: number, timeoutMs: number): Promise<StatusOutcome>;
  /** Hand a batch to a backup (POST /packets/replica). */
  replicate(http: string, batch: ReplicaBatch, timeoutMs: number): Promise<ReplicateOutcome>;
}
