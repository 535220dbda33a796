import { signAlive } from "../identity/claims.ts";
import { Keyring, keyFromSecret } from "../identity/keyring.ts";
import type { NodeIdentity } from "../identity/node-identity.ts";
import { AeadGuard } from "../identity/packet-guard.ts";
import type { Address, MemberSnapshot, Message, NodeInfo, Update } from "../membership/types.ts";
import { seededRandom } from "../util/random.ts";
import { encodeMessage } from "../wire/codec.ts";
import type { SimCluster } from "./sim-cluster.ts";
import { seededIdentity } from "./sim-security.ts";

/**
 * A byzantine member: one node of a secured simulated cluster that keeps running the honest
 * driver and, beside it, forges whatever an insider can. It holds the cluster key (so its
 * datagrams authenticate) and its own identity key, never another member's: everything it
 * sends is sealed with the cluster key and leaves from its own address.
 */
export class Byzantine {
  readonly #guard: AeadGuard;
  /** For the identities it invents (seeded apart from the cluster's own streams). */
  readonly #random: () => number;

  constructor(
    readonly cluster: SimCluster,
    readonly index: number,
  ) {
    const key = cluster.opts.clusterKey;
    if (!key) throw new Error("a byzantine member needs a secured cluster (clusterKey)");
    this.#guard = new AeadGuard(new Keyring([keyFromSecret(key)]), 60, () => cluster.now);
    this.#random = seededRandom(cluster.opts.seed ^ 0xb7a);
  }

  /** A new identity of its own making: holding the cluster key, it can invent as many as it likes. */
  invent(info: Omit<NodeInfo, "id">): { info: NodeInfo; identity: NodeIdentity } {
    const identity = seededIdentity(this.#random);
    return { info: { ...info, id: identity.id }, identity };
  }

  /** A validly self-signed alive claim for an invented identity, at the current incarnation a node would start with. */
  aliveOf(invented: { info: NodeInfo; identity: NodeIdentity }): Update {
    const incarnation = Math.floor(this.cluster.now / 1000);
    return { kind: "alive", incarnation, info: invented.info, proof: signAlive(invented.identity, incarnation, invented.info) };
  }

  get id(): string {
    return this.cluster.idOf(this.index);
  }

  /** Its own identity key: the only one it can sign with. */
  get identity(): NodeIdentity {
    return this.cluster.nodes[this.index]!.identity!;
  }

  get address(): Address {
    return this.cluster.nodes[this.index]!.info.gossip;
  }

  /** Send any message, sealed with the cluster key, to a node (by index) or an address. */
  send(to: number | Address, message: Message): void {
    const address = typeof to === "number" ? this.cluster.nodes[to]!.info.gossip : to;
    this.cluster.sendFrom(this.index, address, this.#guard.seal(encodeMessage(message)));
  }

  /**
   * An authenticated /sync to a node carrying this member table (the simulator passes tables as
   * objects; the receiving driver checks their claims as a real node's does).
   */
  sync(to: number, members: MemberSnapshot[]): void {
    this.cluster.nodes[to]!.driver.serveSync(members, false);
  }

  /**
   * Keep `victim` looking alive by acking on its behalf: the insider sees the sequence numbers
   * of the pings it gets from each node, and acks the next few of each, every `everyMs`.
   * Returns a function that stops it.
   */
  sprayAcks(victim: number, everyMs = 100, ahead = 12): () => void {
    const lastSeq = new Map<Address, number>();
    const off = this.cluster.nodes[this.index]!.driver.onTraffic((dir, peer, m) => {
      if (dir === "in" && (m.type === "ping" || m.type === "ping-req")) lastSeq.set(peer, Math.max(lastSeq.get(peer) ?? 0, m.seq));
    });
    let on = true;
    const round = () => {
      if (!on) return;
      for (const [peer, seq] of lastSeq) {
        for (let s = seq + 1; s <= seq + ahead; s++)
          this.send(peer, { type: "ack", seq: s, from: this.cluster.idOf(victim), nonce: new Uint8Array(16), updates: [] });
      }
      this.cluster.clock.after(everyMs, round);
    };
    round();
    return () => {
      on = false;
      off();
    };
  }

  /** Gossip these updates, as this member, to a node. */
  gossip(to: number | Address, updates: Update[]): void {
    this.send(to, { type: "gossip", from: this.id, updates });
  }
}
