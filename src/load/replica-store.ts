/**
 * The packets this node keeps for others (it is their backup): per owner, the packets it
 * accepted and has not yet said are done. When the owner is declared dead, or turns out to have
 * restarted (a new boot token: its queue is gone), they are handed back to run here. Bounded:
 * at most `maxPackets` packets and `maxBytes` of payload; a batch that does not fit is refused
 * as a whole, and the owner tries another backup.
 */

/** A packet as handed to a backup: what it needs to run it. */
export interface HeldPacket {
  id: string;
  units: number;
  device_id?: string;
  payload?: unknown;
}

interface Owner {
  http: string;
  boot: string;
  packets: Map<string, { p: HeldPacket; bytes: number }>;
}

export class ReplicaStore {
  readonly #owners = new Map<string, Owner>();
  /** Packet id → owner id, to answer "who has it?" */
  readonly #index = new Map<string, string>();
  #bytes = 0;
  #count = 0;

  constructor(
    readonly maxPackets: number,
    readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Keep `packets` for `owner` and forget `done`. A batch with a boot token other than the one
   * held means the owner restarted: the packets of its previous run come back as `orphans` (to
   * run here). `kept` is false when the batch does not fit (none of it is kept).
   */
  receive(owner: string, http: string, boot: string, packets: readonly HeldPacket[], done: readonly string[]): { kept: boolean; orphans: HeldPacket[] } {
    let o = this.#owners.get(owner);
    let orphans: HeldPacket[] = [];
    if (o && o.boot !== boot) {
      orphans = this.takeOver(owner);
      o = undefined;
    }
    for (const id of done) this.#forget(owner, id);
    const sizes = packets.map((p) => (p.payload === undefined ? 0 : JSON.stringify(p.payload).length));
    const bytes = sizes.reduce((a, b) => a + b, 0);
    if (this.#count + packets.length > this.maxPackets || this.#bytes + bytes > this.maxBytes) return { kept: false, orphans };
    if (!o) this.#owners.set(owner, (o = { http, boot, packets: new Map() }));
    o.http = http;
    for (const [i, p] of packets.entries()) {
      if (o.packets.has(p.id)) continue;
      o.packets.set(p.id, { p, bytes: sizes[i]! });
      this.#index.set(p.id, owner);
      this.#count++;
      this.#bytes += sizes[i]!;
    }
    return { kept: true, orphans };
  }

  /** The owner's packets, removed from the store: it died, they run here now. */
  takeOver(owner: string): HeldPacket[] {
    const o = this.#owners.get(owner);
    if (!o) return [];
    this.#owners.delete(owner);
    const out: HeldPacket[] = [];
    for (const { p, bytes } of o.packets.values()) {
      out.push(p);
      this.#count--;
      this.#bytes -= bytes;
      if (this.#index.get(p.id) === owner) this.#index.delete(p.id);
    }
    return out;
  }

  /** The owner ("ip:port") keeping packet `id`, if we hold a copy of it. */
  ownerOf(id: string): string | undefined {
    const owner = this.#index.get(id);
    return owner === undefined ? undefined : this.#owners.get(owner)?.http;
  }

  /** Owners we hold packets for. */
  owners(): string[] {
    return [...this.#owners.keys()];
  }

  #forget(owner: string, id: string): void {
    const o = this.#owners.get(owner);
    const e = o?.packets.get(id);
    if (!o || !e) return;
    o.packets.delete(id);
    this.#count--;
    this.#bytes -= e.bytes;
    if (this.#index.get(id) === owner) this.#index.delete(id);
  }
}
