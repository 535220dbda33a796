import { signAlive } from "../identity/claims.ts";
import { Keyring, keyFromSecret } from "../identity/keyring.ts";
import type { NodeIdentity } from "../identity/node-identity.ts";
import { AeadGuard } from "../identity/packet-guard.ts";
import type { Address, MemberSnapshot, Message, NodeId, NodeInfo, Update } from "../membership/types.ts";
import { seededRandom } from "../util/random.ts";
import { encodeMessage } from "../wire/codec.ts";
import { randomForgery } from "./forgery.ts";
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
  /** The latest sequence number each node used in a ping to it (what an insider can read). */
  readonly #lastSeq = new Map<Address, number>();
  readonly #impostors = new Map<number, { info: NodeInfo; identity: NodeIdentity }>();
  /** Counts of what it sent, by attack. */
  readonly sent: Record<string, number> = {};

  constructor(
    readonly cluster: SimCluster,
    readonly index: number,
  ) {
    const key = cluster.opts.clusterKey;
    if (!key) throw new Error("a byzantine member needs a secured cluster (clusterKey)");
    this.#guard = new AeadGuard(new Keyring([keyFromSecret(key)]), 60, () => cluster.now);
    this.#random = seededRandom(cluster.opts.seed ^ 0xb7a);
    cluster.nodes[index]!.driver.onTraffic((dir, peer, m) => {
      if (dir === "in" && (m.type === "ping" || m.type === "ping-req")) this.#lastSeq.set(peer, Math.max(this.#lastSeq.get(peer) ?? 0, m.seq));
    });
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
    return this.#every(everyMs, () => {
      for (const [peer, seq] of this.#lastSeq) {
        for (let s = seq + 1; s <= seq + ahead; s++)
          this.#count("acks", peer, { type: "ack", seq: s, from: this.cluster.idOf(victim), nonce: new Uint8Array(16), updates: [] });
      }
    });
  }

  /** Row 1: suspect, dead and left naming incarnations the victim never announced (huge, or just above its own). */
  forgeIncarnations(victim: number, to: readonly number[]): void {
    const id = this.cluster.idOf(victim);
    const inc = this.cluster.nodes[victim]!.swim.incarnation;
    const huge = Math.floor(this.cluster.now / 1000) + 100_000;
    for (const o of to) {
      this.#count("incarnations", o, {
        type: "gossip",
        from: this.id,
        updates: [
          { kind: "suspect", id, incarnation: huge, from: this.id },
          { kind: "dead", id, incarnation: inc + 1, from: this.id },
          { kind: "left", id, incarnation: huge },
        ],
      });
    }
  }

  /**
   * Row 2: an unsigned dead for the victim, then (a moment later, once it has landed) an identity
   * of the insider's own claiming the victim's UDP and HTTP address, validly self-signed, by
   * gossip and by /sync. Returns the impostor's id.
   */
  impersonate(victim: number, to: readonly number[]): NodeId {
    const v = this.cluster.nodes[victim]!;
    let impostor = this.#impostors.get(victim);
    if (!impostor) {
      impostor = this.invent({ name: `impostor-of-${victim}`, gossip: v.info.gossip, http: v.info.http, capacity: 1e9 });
      this.#impostors.set(victim, impostor);
    }
    const claim = this.aliveOf(impostor);
    for (const o of to)
      this.#count("impostor", o, { type: "gossip", from: this.id, updates: [{ kind: "dead", id: v.id, incarnation: v.swim.incarnation, from: this.id }] });
    this.cluster.clock.after(4, () => {
      for (const o of to) this.#count("impostor", o, { type: "gossip", from: this.id, updates: [claim] });
      const o = to[Math.floor(this.#random() * to.length)];
      if (o !== undefined && claim.kind === "alive") this.sync(o, [{ info: claim.info, state: "alive", incarnation: claim.incarnation, proof: claim.proof }]);
    });
    return impostor.info.id;
  }

  /**
   * Phantom members: identities of its own making, validly self-signed, at addresses where
   * nothing answers for them: nowhere at all, or a real node's HTTP port (which answers /health,
   * but as itself). Returns their ids.
   */
  phantoms(k: number, to: readonly number[]): NodeId[] {
    const ids: NodeId[] = [];
    for (let i = 0; i < k; i++) {
      const real = this.cluster.nodes[Math.floor(this.#random() * this.cluster.nodes.length)]!;
      const p = this.invent({
        name: `phantom-${i}`,
        gossip: `10.250.${i >> 8}.${i & 255}:7946`,
        http: i % 2 ? real.info.http : `10.250.${i >> 8}.${i & 255}:5000`,
        capacity: 1e9,
      });
      ids.push(p.info.id);
      const claim = this.aliveOf(p);
      for (const o of to) this.#count("phantoms", o, { type: "gossip", from: this.id, updates: [claim] });
    }
    return ids;
  }

  /** Every `everyMs`, a random forged message (see forgery.ts) to a random node. Returns stop(). */
  forgeRandomly(everyMs: number): () => void {
    const c = this.cluster;
    return this.#every(everyMs, () => {
      const members = c.nodes[this.index]!.swim.members();
      const recentSeq = Math.max(0, ...this.#lastSeq.values());
      const m = randomForgery(this.#random, { self: this.id, key: this.identity, now: c.now, members, recentSeq });
      this.#count("random", Math.floor(this.#random() * c.nodes.length), m);
    });
  }

  /** Gossip these updates, as this member, to a node. */
  gossip(to: number | Address, updates: Update[]): void {
    this.send(to, { type: "gossip", from: this.id, updates });
  }

  #count(attack: string, to: number | Address, m: Message): void {
    this.sent[attack] = (this.sent[attack] ?? 0) + 1;
    if (to !== this.index) this.send(to, m);
  }

  #every(ms: number, fn: () => void): () => void {
    let on = true;
    const round = () => {
      if (!on) return;
      fn();
      this.cluster.clock.after(ms, round);
    };
    round();
    return () => {
      on = false;
    };
  }
}
