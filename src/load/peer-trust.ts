/**
 * Load claims within reason. A peer's capacity and backlog are its own signed claims, so a
 * member (or an insider's invented one) can advertise capacity 1e9 and backlog 0 and draw
 * every forwarded packet. Two checks keep that in bounds, both outside the request path's
 * logic (the composition root puts them between the load service and the node):
 * - the capacity a peer advertises counts only up to `maxCapacity`, by default ten times the
 *   larger of our own and the typical (lower-median) claim of the others: a cluster of small
 *   and big boxes balances as it should, and phantoms must outnumber the members to move it;
 * - a packet a peer accepted from us must be in its idempotency window when we ask about it
 *   (/packets/ask), and a packet id it never got must not be: a peer whose records do not
 *   match (two audits in a row) is no longer forwarded to, listed for balancing or used as a
 *   backup, for `distrustMs`.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../log/logger.ts";
import type { Member, NodeId } from "../membership/types.ts";
import type { PeerClient } from "./peer-protocol.ts";
import type { PacketRequest } from "./request-body.ts";

export interface PeerTrustOptions {
  /** This node's "ip:port" (the asker). */
  readonly selfHttp: string;
  /** Capacity a peer's claim counts for at most, units per second; 0: automatic (see above). */
  readonly maxCapacity: number;
  readonly askTimeoutMs: number;
  readonly log: Logger;
  readonly now?: () => number;
  /** Mismatching audits in a row that make a peer distrusted (default 2). */
  readonly mismatches?: number;
  /** How long a distrusted peer stays out (default 10 min). */
  readonly distrustMs?: number;
  /** Once a peer's records matched a few times, audit it at most this often (default 1 s). */
  readonly auditEveryMs?: number;
}

export interface PeerTrustStats {
  audits: { match: number; mismatch: number; inconclusive: number };
  /** Peers distrusted since start. */
  distrustedTotal: number;
  /** Forwards refused because the target is distrusted. */
  forwardsWithheld: number;
  /** Capacity claims counted at `maxCapacity` instead (one per peer and claim). */
  capacityClamped: number;
}

interface PeerRecord {
  inFlight: boolean;
  /** Audits in a row whose records matched, or did not. */
  matches: number;
  mismatches: number;
  lastAuditAt: number;
  distrustedUntil: number;
  clampedCapacity?: number;
}

/**
 * The automatic limit: ten times the larger of our own capacity and the lower median of the
 * other alive members' claims. One inflated claim (or a minority of them) does not raise it.
 */
export function capacityLimit(members: readonly Readonly<Member>[], selfId: NodeId): number {
  let own = 0;
  const others: number[] = [];
  for (const m of members) {
    if (m.info.id === selfId) own = m.info.capacity;
    else if (m.state === "alive") others.push(m.info.capacity);
  }
  others.sort((a, b) => a - b);
  const typical = others.length > 0 ? others[(others.length - 1) >> 1]! : 0;
  return 10 * Math.max(own, typical, 1);
}

/** Audited peers kept at most (pruned to listed members first). */
const MAX_PEERS = 4096;
/** Matches in a row after which audits slow down to one per `auditEveryMs`. */
const SETTLED = 3;

export class PeerTrust {
  readonly stats: PeerTrustStats = { audits: { match: 0, mismatch: 0, inconclusive: 0 }, distrustedTotal: 0, forwardsWithheld: 0, capacityClamped: 0 };
  readonly #o: PeerTrustOptions;
  readonly #now: () => number;
  readonly #peers = new Map<string, PeerRecord>();
  /** Distrusted node ids, so a member that re-announces itself at another address stays out. */
  readonly #distrustedIds = new Map<NodeId, number>();
  /** The last member list seen: http → id. */
  #idOf = new Map<string, NodeId>();

  constructor(options: PeerTrustOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Peers distrusted right now. */
  get distrusted(): number {
    const t = this.#now();
    let n = 0;
    for (const until of this.#distrustedIds.values()) if (until > t) n++;
    return n;
  }

  isDistrusted(http: string, id?: NodeId): boolean {
    const t = this.#now();
    const byId = id ?? this.#idOf.get(http);
    return (this.#peers.get(http)?.distrustedUntil ?? 0) > t || (byId !== undefined && (this.#distrustedIds.get(byId) ?? 0) > t);
  }

  /**
   * The members as the load service should see them: distrusted peers left out, capacities
   * claimed above the limit counted at the limit. This node's own row passes unchanged.
   */
  view(members: readonly Readonly<Member>[], selfId: NodeId): Readonly<Member>[] {
    const idOf = new Map<string, NodeId>();
    const out: Readonly<Member>[] = [];
    const limit = this.#o.maxCapacity || capacityLimit(members, selfId);
    for (const m of members) {
      if (m.info.id === selfId) {
        out.push(m);
        continue;
      }
      idOf.set(m.info.http, m.info.id);
      if (this.isDistrusted(m.info.http, m.info.id)) continue;
      if (m.info.capacity > limit) {
        this.#noteClamp(m, limit);
        out.push({ ...m, info: { ...m.info, capacity: limit } });
      } else out.push(m);
    }
    this.#idOf = idOf;
    if (this.#peers.size > MAX_PEERS) this.#prune();
    return out;
  }

  /** `inner` with every accepted forward audited, and forwards to distrusted peers withheld. */
  client(inner: PeerClient): PeerClient {
    return {
      ...inner,
      forward: async (http: string, body: PacketRequest, hop: number, timeoutMs: number) => {
        if (this.isDistrusted(http)) {
          this.stats.forwardsWithheld++;
          return { kind: "declined", reason: "distrusted: keeps no record of packets it accepted" };
        }
        const out = await inner.forward(http, body, hop, timeoutMs);
        const id = body.packet_id;
        if (out.kind === "accepted" && id !== undefined && !out.reply.duplicate && out.reply.handled_by === http) this.#maybeAudit(inner, http, id);
        return out;
      },
    };
  }

  #record(http: string): PeerRecord {
    let r = this.#peers.get(http);
    if (!r) {
      r = { inFlight: false, matches: 0, mismatches: 0, lastAuditAt: Number.NEGATIVE_INFINITY, distrustedUntil: 0 };
      this.#peers.set(http, r);
    }
    return r;
  }

  #maybeAudit(client: PeerClient, http: string, packetId: string): void {
    const r = this.#record(http);
    const t = this.#now();
    if (r.inFlight || (r.matches >= SETTLED && t - r.lastAuditAt < (this.#o.auditEveryMs ?? 1000))) return;
    r.inFlight = true;
    r.lastAuditAt = t;
    void this.#audit(client, http, packetId, r).finally(() => {
      r.inFlight = false;
    });
  }

  /** Ask about a packet it accepted (it must have it) and one it never got (it must not). */
  async #audit(client: PeerClient, http: string, packetId: string, r: PeerRecord): Promise<void> {
    const { selfHttp, askTimeoutMs } = this.#o;
    const real = await client.ask(http, packetId, selfHttp, askTimeoutMs);
    if (real.kind === "silent" || real.kind === "gone") return void this.stats.audits.inconclusive++;
    let ok = real.kind === "seen" && real.handledBy === http;
    if (ok) {
      const canary = await client.ask(http, `${packetId}-${randomBytes(6).toString("hex")}`, selfHttp, askTimeoutMs);
      if (canary.kind === "silent" || canary.kind === "gone") return void this.stats.audits.inconclusive++;
      ok = canary.kind === "new";
    }
    if (ok) {
      this.stats.audits.match++;
      r.matches++;
      r.mismatches = 0;
      return;
    }
    this.stats.audits.mismatch++;
    r.matches = 0;
    r.mismatches++;
    if (r.mismatches < (this.#o.mismatches ?? 2)) return;
    const until = this.#now() + (this.#o.distrustMs ?? 600_000);
    r.distrustedUntil = until;
    r.mismatches = 0;
    const id = this.#idOf.get(http);
    if (id !== undefined) {
      if (this.#distrustedIds.size >= MAX_PEERS) this.#distrustedIds.clear();
      this.#distrustedIds.set(id, until);
    }
    this.stats.distrustedTotal++;
    this.#o.log.warn(
      {
        peer: http,
        member: id,
        packet_id: packetId,
        answer: real.kind === "seen" ? `seen, handled by ${real.handledBy}` : real.kind,
        forMs: this.#o.distrustMs ?? 600_000,
      },
      "peer keeps no record of packets it accepted: no longer forwarding to it",
    );
  }

  #noteClamp(m: Readonly<Member>, limit: number): void {
    const r = this.#record(m.info.http);
    if (r.clampedCapacity === m.info.capacity) return;
    r.clampedCapacity = m.info.capacity;
    this.stats.capacityClamped++;
    this.#o.log.warn(
      { peer: m.info.http, member: m.info.id, claimed: m.info.capacity, counted: limit },
      "peer claims more capacity than --max-peer-capacity: counted at the limit",
    );
  }

  #prune(): void {
    const t = this.#now();
    for (const [http, r] of this.#peers) if (!this.#idOf.has(http) && r.distrustedUntil <= t && !r.inFlight) this.#peers.delete(http);
    for (const [id, until] of this.#distrustedIds) if (until <= t) this.#distrustedIds.delete(id);
  }
}
