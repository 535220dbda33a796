import type { NodeId } from "../membership/types.ts";
import type { AdmitContext } from "../ports/claims.ts";

/**
 * How fast the member table may grow with identities nobody vouched for. Anyone holding the
 * cluster key can invent identities and sign their alive claims, so without a bound one /sync
 * could list thousands of members that never answer, and every real probe would be spent on
 * them. New identities are capped per exchange and per second (a token bucket), and the table
 * holds at most `maxMembers` live members.
 */
export interface AdmissionLimits {
  /** Live members (this node included) beyond which no new identity is admitted. */
  readonly maxMembers: number;
  /** New identities admitted from one full-state exchange (a /sync either way, a joiner's state). */
  readonly perSync: number;
  /** New identities admitted per second, over all routes (the bucket holds `perSync`). */
  readonly perSecond: number;
}

export const DEFAULT_ADMISSION_LIMITS: AdmissionLimits = { maxMembers: 1024, perSync: 8, perSecond: 8 };

export type AdmissionVerdict = "ok" | "rateLimited" | "memberLimit";

/** How long an identity charged once is not charged again (the same batch verified twice, a join's retry). */
const RECENT_MS = 10_000;

export class AdmissionGate {
  readonly #limits: AdmissionLimits;
  #tokens: number;
  #refilledAt: number;
  /** New identities admitted in the current batch (not listed by the core yet); -1 outside a batch. */
  #inBatch = -1;
  #batchIsSync = false;
  /** Identities admitted lately: admitting them again (before the core lists them) is free. */
  readonly #recent = new Map<NodeId, number>();
  /** Refusals not yet logged, and when the last log line went out. */
  #unlogged = { rateLimited: 0, memberLimit: 0 };
  #loggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    limits: AdmissionLimits,
    private readonly liveCount: () => number,
    private readonly now: () => number,
    private readonly warn: (fields: Record<string, unknown>, msg: string) => void,
  ) {
    this.#limits = limits;
    this.#tokens = limits.perSync;
    this.#refilledAt = now();
  }

  /** A batch of claims starts: a datagram's updates, or a full state (`sync`: the per-sync cap applies). */
  begin(sync: boolean): void {
    this.#inBatch = 0;
    this.#batchIsSync = sync;
  }

  end(): void {
    this.#inBatch = -1;
    this.#log();
  }

  /** May this identity, not listed yet, be admitted? Counts it if so. */
  admit(id: NodeId, ctx: AdmitContext | undefined): AdmissionVerdict {
    const t = this.now();
    this.#prune(t);
    if (this.#recent.has(id)) return "ok";
    const batch = Math.max(this.#inBatch, 0);
    if (this.liveCount() + batch >= this.#limits.maxMembers) return this.#refuse("memberLimit");
    const trusted = ctx?.joining === true || ctx?.proven === id;
    if (!trusted) {
      if (this.#batchIsSync && this.#inBatch >= this.#limits.perSync) return this.#refuse("rateLimited");
      this.#refill(t);
      if (this.#tokens < 1) return this.#refuse("rateLimited");
      this.#tokens--;
    }
    if (this.#inBatch >= 0) this.#inBatch++;
    this.#recent.set(id, t);
    return "ok";
  }

  /** Refusals since the last call, logged at most once every 10 s. */
  #log(): void {
    const u = this.#unlogged;
    if (u.rateLimited + u.memberLimit === 0) return;
    const t = this.now();
    if (t - this.#loggedAt < 10_000) return;
    this.#loggedAt = t;
    this.warn({ ...u, limits: this.#limits }, "refused new identities over the admission limits");
    this.#unlogged = { rateLimited: 0, memberLimit: 0 };
  }

  #refuse(v: "rateLimited" | "memberLimit"): AdmissionVerdict {
    this.#unlogged[v]++;
    if (this.#inBatch < 0) this.#log();
    return v;
  }

  #refill(t: number): void {
    const l = this.#limits;
    this.#tokens = Math.min(Math.max(l.perSync, 1), this.#tokens + ((t - this.#refilledAt) / 1000) * l.perSecond);
    this.#refilledAt = t;
  }

  #prune(t: number): void {
    for (const [id, at] of this.#recent) {
      if (t - at < RECENT_MS) break;
      this.#recent.delete(id);
    }
  }
}
