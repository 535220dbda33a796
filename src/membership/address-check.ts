import type { Visit } from "./deadlines.ts";
import type { MemberRecord } from "./member-table.ts";
import { type CoreParts, sameBytes } from "./parts.ts";
import type { Input, Message, Nonce, Update } from "./types.ts";

type Alive = Extract<Update, { kind: "alive" }>;

/** Claims checked at once; a claim that finds no room is refused, and checked when it comes again. */
const MAX_CHECKS = 16;

interface Check {
  readonly seq: number;
  readonly nonce: Nonce;
  readonly claim: Alive;
  readonly until: number;
}

/**
 * Addresses belong to whoever proves them. A member claims an address another member holds:
 * only one process can own a UDP port, so the claim is good exactly when its claimant answers
 * there. This node pings the address for the claimant (and challenges its HTTP port, if the
 * holder's is the same) with a fresh nonce, and takes the claim only on the claimant's own proof
 * of life over that nonce. An impostor elsewhere never sees the ping, and the process that does
 * (the rightful holder) does not answer for another id; a holder that really moved or restarted
 * with a new key is replaced within one round trip.
 */
export class AddressChecks {
  readonly #bySeq = new Map<number, Check>();

  constructor(
    private readonly p: CoreParts,
    /** Sequence numbers come from the prober's counter, so acks find their way. */
    private readonly nextSeq: () => number,
    /** The claimant proved itself at the address: the claim may replace the holder. */
    private readonly accept: (now: number, claim: Alive) => void,
  ) {}

  get size(): number {
    return this.#bySeq.size;
  }

  /** `claim` names an address `holder` holds: ask the address who is there. */
  request(now: number, claim: Alive, holder: MemberRecord): void {
    const { gossip, http, id } = claim.info;
    if (this.#bySeq.size >= MAX_CHECKS) return;
    for (const c of this.#bySeq.values()) if (c.claim.info.gossip === gossip) return;
    const { t, out, liveness, table } = this.p;
    const seq = this.nextSeq();
    const nonce = liveness.nonce();
    this.#bySeq.set(seq, { seq, nonce, claim, until: now + t.probeIntervalMs });
    out.push(gossip, { type: "ping", seq, from: table.self.info.id, to: id, nonce, updates: [] });
    // UDP may be lossy. No HTTP request goes to an address the claim alone names, though.
    if (http === holder.info.http) out.effect({ type: "check-http", target: id, http, nonce, timeoutMs: Math.floor(t.probeIntervalMs * 0.8) });
  }

  /** An ack to one of our checks (true when it was one). */
  onAck(now: number, msg: Extract<Message, { type: "ack" }>): boolean {
    const c = this.#bySeq.get(msg.seq);
    if (!c) return false;
    this.#settle(now, c, sameBytes(c.nonce, msg.nonce) && this.p.liveness.verify(c.claim.info.id, c.nonce, msg.proof));
    return true;
  }

  /** The answer of one of our HTTP challenges (true when it was one). */
  onHttpCheck(now: number, check: Extract<Input, { type: "http-check" }>): boolean {
    for (const c of this.#bySeq.values()) {
      if (c.claim.info.id !== check.target || !sameBytes(c.nonce, check.nonce)) continue;
      if (check.result === "answered") {
        this.#settle(now, c, check.answeredAs === check.target && this.p.liveness.verify(check.target, c.nonce, check.proof));
      }
      return true;
    }
    return false;
  }

  deadlines(visit: Visit): void {
    if (this.#bySeq.size > 0) for (const c of this.#bySeq.values()) visit(c.until, this.#expire, c);
  }

  readonly #expire = (_now: number, c: Check): void => {
    this.#bySeq.delete(c.seq);
  };

  #settle(now: number, c: Check, proven: boolean): void {
    if (!proven) {
      this.p.stats.unprovenAcks++;
      return;
    }
    this.#bySeq.delete(c.seq);
    this.accept(now, c.claim);
  }
}
