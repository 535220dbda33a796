/**
 * A simulated datagram network: per-message latency with jitter, random loss, and partitions
 * (groups that cannot reach each other). Reliable request/response (the HTTP sync) shares the
 * latency and partitions but not the loss, as TCP would.
 */
export interface NetworkConditions {
  /** One-way latency floor in ms. */
  latencyMs: number;
  /** Uniform extra latency in [0, jitterMs). */
  jitterMs: number;
  /** Probability that a datagram is lost. */
  loss: number;
}

export class SimNetwork {
  conditions: NetworkConditions;
  /** Node index → partition group; nodes in different groups cannot talk. */
  #group = new Map<number, number>();

  constructor(
    private readonly random: () => number,
    conditions: Partial<NetworkConditions> = {},
  ) {
    this.conditions = { latencyMs: 1, jitterMs: 2, loss: 0, ...conditions };
  }

  partition(groups: number[][]): void {
    this.#group.clear();
    groups.forEach((g, i) => {
      for (const n of g) this.#group.set(n, i);
    });
  }

  heal(): void {
    this.#group.clear();
  }

  canReach(a: number, b: number): boolean {
    return (this.#group.get(a) ?? -1) === (this.#group.get(b) ?? -1);
  }

  /** Delay for a datagram from a to b, or undefined if it is lost. */
  datagramDelay(a: number, b: number): number | undefined {
    if (!this.canReach(a, b)) return undefined;
    if (this.conditions.loss > 0 && this.random() < this.conditions.loss) return undefined;
    return this.latency();
  }

  /**
   * Does a short TCP exchange (handshake, request, response: four segments) get through before a
   * sub-second deadline? Any lost segment waits for a retransmission timeout of 200 ms to 1 s.
   */
  tcpExchangeInTime(a: number, b: number): boolean {
    if (!this.canReach(a, b)) return false;
    for (let i = 0; i < 4; i++) if (this.conditions.loss > 0 && this.random() < this.conditions.loss) return false;
    return true;
  }

  latency(): number {
    return this.conditions.latencyMs + this.random() * this.conditions.jitterMs;
  }
}
