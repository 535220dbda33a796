import { randomFillSync } from "node:crypto";
import type { NodeDriver } from "../driver/node-driver.ts";
import type { Address, Message, NodeId, Nonce } from "../membership/types.ts";

/**
 * Sequence numbers of one-off pings: the top of the wire's 32-bit range. The core numbers its
 * own pings from 1 up, one or two a second: it would take it a century to get here, so an ack
 * finds the right owner, and the core ignores one it did not ask for.
 */
const FIRST_SEQ = 0xf000_0000;
const LAST_SEQ = 0xffff_ffff;
/** Pings in flight at once; beyond, a ping is refused at once (answered false). */
const MAX_WAITING = 1024;

export type PingAnswer = { readonly answered: true; readonly ms: number } | { readonly answered: false; readonly why: "silent" | "busy" };

interface Waiting {
  readonly target: NodeId;
  readonly nonce: Nonce;
  readonly sentAt: number;
  readonly done: (a: PingAnswer) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * A SWIM ping outside the core's probe rounds (`dsef reachability`): sent through the driver,
 * signed and sealed like the core's, and answered only by the member's own proof of life over a
 * fresh nonce, as a probe is.
 */
export class Pinger {
  #seq = FIRST_SEQ;
  readonly #waiting = new Map<number, Waiting>();

  constructor(private readonly driver: NodeDriver) {
    driver.onTraffic((dir, _peer, m) => {
      if (dir === "in" && m.type === "ack" && m.seq >= FIRST_SEQ) this.#onAck(m);
    });
  }

  ping(target: NodeId, gossip: Address, timeoutMs: number): Promise<PingAnswer> {
    if (this.#waiting.size >= MAX_WAITING) return Promise.resolve({ answered: false, why: "busy" });
    const seq = this.#seq;
    this.#seq = seq >= LAST_SEQ ? FIRST_SEQ : seq + 1;
    const nonce = randomFillSync(new Uint8Array(16));
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(seq);
        done({ answered: false, why: "silent" });
      }, timeoutMs);
      this.#waiting.set(seq, { target, nonce, sentAt: performance.now(), done, timer });
      const ping: Message = { type: "ping", seq, from: this.driver.swim.self.id, to: target, nonce, updates: [] };
      this.driver.sendMessage(gossip, ping);
    });
  }

  #onAck(m: Extract<Message, { type: "ack" }>): void {
    const w = this.#waiting.get(m.seq);
    if (!w || m.from !== w.target || !Buffer.from(m.nonce).equals(Buffer.from(w.nonce))) return;
    if (!this.driver.claims.verifyLiveness(w.target, w.nonce, m.proof)) return;
    this.#waiting.delete(m.seq);
    clearTimeout(w.timer);
    w.done({ answered: true, ms: Math.round((performance.now() - w.sentAt) * 10) / 10 });
  }
}
