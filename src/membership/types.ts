/**
 * Vocabulary of the sans-IO membership core. Nothing here touches a socket or a clock:
 * addresses are plain strings, time is a number of milliseconds handed in by the caller.
 */

/** "host:port" of a UDP or HTTP endpoint. */
export type Address = string;
/** Fingerprint of a node's public key (hex); stable across restarts. */
export type NodeId = string;

export type MemberState = "alive" | "suspect" | "dead" | "left";

/** Operator labels (`--tag key=value`), limited by membership/tags.ts. */
export type Tags = Readonly<Record<string, string>>;

/** The wire protocol versions a node speaks, both ends included (wire/protocol.ts). */
export interface ProtocolRange {
  readonly min: number;
  readonly max: number;
}

/** What a node says about itself; travels with every `alive` claim (signed with it). */
export interface NodeInfo {
  readonly id: NodeId;
  readonly name: string;
  /** UDP gossip endpoint. */
  readonly gossip: Address;
  /** HTTP endpoint (API, anti-entropy, refused-connection probe). */
  readonly http: Address;
  /** Promised capacity in work units per second. */
  readonly capacity: number;
  /** None: no tags. */
  readonly tags?: Tags;
  /** None: version 1 only (nodes from before versions were announced). */
  readonly protocol?: ProtocolRange;
}

/** Load figures a node shares about itself; a higher version always wins. */
export interface LoadFigures {
  readonly version: number;
  /** Backlog in work units. */
  readonly backlog: number;
}

/**
 * Opaque signature over a claim only its subject may make (its `alive`, its `left`, its load).
 * The core carries it along untouched so others can check it; the identity layer makes and
 * verifies it at the edges. Absent in open mode and on this node's own claims until sent.
 */
export type Proof = Uint8Array;

export interface Member {
  info: NodeInfo;
  state: MemberState;
  incarnation: number;
  /** Local time of the last state change, for reaping and "last change" display. */
  changedAt: number;
  /** Proof of the member's own latest claim we hold: its `alive`, or its `left` once it has left. */
  proof?: Proof;
  load?: LoadFigures;
  loadProof?: Proof;
}

/** A claim about one member, piggybacked on protocol messages and exchanged in full syncs. */
export type Update =
  | { readonly kind: "alive"; readonly incarnation: number; readonly info: NodeInfo; readonly proof?: Proof }
  | { readonly kind: "suspect"; readonly id: NodeId; readonly incarnation: number; readonly from: NodeId }
  | { readonly kind: "dead"; readonly id: NodeId; readonly incarnation: number; readonly from: NodeId }
  | { readonly kind: "left"; readonly id: NodeId; readonly incarnation: number; readonly proof?: Proof }
  | { readonly kind: "load"; readonly id: NodeId; readonly load: LoadFigures; readonly proof?: Proof };

/** One member's whole state as exchanged by anti-entropy (join and periodic full sync). */
export interface MemberSnapshot {
  readonly info: NodeInfo;
  readonly state: MemberState;
  readonly incarnation: number;
  readonly proof?: Proof;
  readonly load?: LoadFigures;
  readonly loadProof?: Proof;
}

/**
 * A fresh, unpredictable value a prober puts in its ping (and relays carry on), so that only the
 * probed member, holding its own key, can answer it (see `LivenessProofs`).
 */
export type Nonce = Uint8Array;

/**
 * Datagrams of the SWIM protocol. `from` is the sender's node id. An ack carries the probed
 * member's proof of life over the probe's nonce: made by that member for a direct ack, passed on
 * untouched by a relay.
 */
export type Message =
  | { readonly type: "ping"; readonly seq: number; readonly from: NodeId; readonly to: NodeId; readonly nonce: Nonce; readonly updates: readonly Update[] }
  | { readonly type: "ack"; readonly seq: number; readonly from: NodeId; readonly nonce: Nonce; readonly proof?: Proof; readonly updates: readonly Update[] }
  | {
      readonly type: "ping-req";
      readonly seq: number;
      readonly from: NodeId;
      readonly target: NodeId;
      readonly targetGossip: Address;
      readonly targetHttp: Address;
      readonly nonce: Nonce;
      readonly updates: readonly Update[];
    }
  | { readonly type: "nack"; readonly seq: number; readonly from: NodeId; readonly refused: boolean }
  | { readonly type: "gossip"; readonly from: NodeId; readonly updates: readonly Update[] };

/**
 * What a probe over the member's HTTP port found: an answer (the process runs: UDP was lost, if
 * the answer is the member's own), the connection was refused (a crashed process on a live host),
 * or nothing in time (proves nothing).
 */
export type CheckResult = "answered" | "refused" | "silent";

/**
 * How a node tells that a probed member answered in person. Secured modes: the member signs the
 * probe's nonce with its own key, and the prober (and a relay, before passing it on) checks that
 * signature with the key the member's alive claim carries. Open mode: nonces only.
 */
export interface LivenessProofs {
  /** A fresh, unpredictable nonce for one probe. */
  nonce(): Nonce;
  /** Is `proof` the member's own proof of life over `nonce`? */
  verify(member: NodeId, nonce: Nonce, proof: Proof | undefined): boolean;
}

/** Inputs the runtime (or the simulator) feeds into the core. */
export type Input =
  /** Nothing happened but time passed (a wake-up the core asked for). */
  | { readonly type: "tick" }
  /** An authenticated, decoded datagram. `source` is the UDP source address. */
  | { readonly type: "message"; readonly source: Address; readonly message: Message }
  /**
   * Result of a fallback probe the core asked for (`check-http`): when answered, the id the
   * answer named and its proof of life over the nonce. An answer in another's name proves nothing.
   */
  | {
      readonly type: "http-check";
      readonly target: NodeId;
      readonly nonce: Nonce;
      readonly result: CheckResult;
      readonly answeredAs?: NodeId;
      readonly proof?: Proof;
    }
  /** A remote full state, from a join, a periodic sync, or a sync request served over HTTP. */
  | { readonly type: "sync"; readonly members: readonly MemberSnapshot[]; readonly join: boolean }
  /** The outcome of a sync the core asked for failed (peer unreachable). */
  | { readonly type: "sync-failed"; readonly target: NodeId }
  /** This node's current load figures, to share with the cluster. */
  | { readonly type: "load"; readonly backlog: number }
  /** Leave the cluster gracefully. */
  | { readonly type: "leave" }
  /**
   * The identity layer no longer admits this member (its certificate expired): declare it dead
   * now, whatever it or its address still answers.
   */
  | { readonly type: "expel"; readonly id: NodeId; readonly reason: string }
  /** This node's tags changed: announce them (a new incarnation of its alive claim). */
  | { readonly type: "retag"; readonly tags: Tags }
  /**
   * An operator marks a dead or suspect member left (never an alive one, nor this node): it is
   * no longer retried, and is told it was declared dead, so a live one refutes (docs/SECURITY.md).
   */
  | { readonly type: "force-leave"; readonly id: NodeId }
  /** An operator prunes a dead or left member from the table (never a live one). */
  | { readonly type: "forget"; readonly id: NodeId };

export type MemberEventType = "joined" | "suspect" | "alive" | "dead" | "left" | "rejoined" | "refuted" | "updated";

/** Something an operator wants to see in the log: one per membership change. */
export interface MemberEvent {
  readonly type: MemberEventType;
  readonly at: number;
  readonly member: MemberSnapshot;
  /** Who reported it, when known (suspect / dead). */
  readonly by?: NodeId;
  /** Why, when it is not obvious ("refused", "timeout", "replaced", ...). */
  readonly reason?: string;
}

/**
 * What a node saw or heard about a member, as the core produces it (`Output.evidence`): the
 * answer to "why was this node marked suspect, then dead?" (`dsef why`). Plain data, one record
 * per fact, made only where something went wrong or changed, so a healthy cluster makes none.
 *
 * - `ack-timeout`  our ping got no ack in time; `relays` were asked (ping-req) and its HTTP port challenged
 * - `nack`         a relay (`by`) could not get an ack either (and its HTTP check was refused, if `detail` says
 *                  so); recorded by the relay too, naming the prober it told in `relays`
 * - `answered`     after the ack timeout, its proof of life came after all: through a relay (`by`),
 *                  as a late ack, or over HTTP (only UDP was lost); not suspected
 * - `http`         our HTTP challenge of the member found no proof of life: refused / silent / unproven
 * - `probe-failed` our probe ended with no proof of life; `relays` are those that sent no nack
 * - `suspect`      it became suspect here, on `by`'s word (this node's own probe when `by` is us)
 * - `confirm`      another member (`by`) suspects it too: the suspicion's timeout shrinks
 * - `refuted`      its own alive at a higher incarnation ended the suspicion (or our own refutation, about us)
 * - `dead`         declared dead here, on `by`'s word (`detail`: suspicion timeout, connection refused)
 * - `left`         it left: signed by itself, or `detail` "force-leave" (an operator, here)
 * - `joined` / `rejoined`  first learned, or back from dead or left
 * - `forgotten`    pruned from the table by an operator
 */
export type EvidenceKind =
  | "ack-timeout"
  | "nack"
  | "answered"
  | "http"
  | "probe-failed"
  | "suspect"
  | "confirm"
  | "refuted"
  | "dead"
  | "left"
  | "joined"
  | "rejoined"
  | "forgotten";

export interface Evidence {
  /** The core's clock (epoch-scaled milliseconds). */
  readonly at: number;
  /** The member it is about. */
  readonly member: NodeId;
  readonly kind: EvidenceKind;
  /** Whose observation or claim it is: this node for its own probes, the suspecter, a relay, the member. */
  readonly by: NodeId;
  /** The node whose datagram brought it here (as the datagram says), or "sync" for a full state exchange. */
  readonly via?: string;
  /** The member's incarnation the fact is about. */
  readonly incarnation?: number;
  /**
   * Other members involved: the relays asked (`ack-timeout`), the relays that stayed silent
   * (`probe-failed`), the prober a relay's nack went to (`nack` by this node).
   */
  readonly relays?: readonly NodeId[];
  /** How long the suspicion had run when it ended (`refuted`, `dead`, `left`). */
  readonly suspectedMs?: number;
  /** Kind-specific, short: a reason, a check's result. */
  readonly detail?: string;
}

/** Side effects the runtime must carry out for the core. */
export type Effect =
  /**
   * Probe this member over HTTP (TCP) within `timeoutMs`, challenging it with `nonce`; reply with
   * an `http-check` input.
   */
  | { readonly type: "check-http"; readonly target: NodeId; readonly http: Address; readonly nonce: Nonce; readonly timeoutMs: number }
  /**
   * Exchange full state with this member over HTTP (this node's table as `snapshot()` gives it
   * when the member is reached); reply with `sync` or `sync-failed`.
   */
  | { readonly type: "sync"; readonly target: NodeId; readonly http: Address };

export interface Outbound {
  readonly to: Address;
  readonly message: Message;
}

/** Everything one call into the core produced. */
export interface Output {
  readonly send: Outbound[];
  readonly effects: Effect[];
  readonly events: MemberEvent[];
  /** What was seen or heard about members (failed probes, suspicions and how they ended), for `dsef why`. */
  readonly evidence: Evidence[];
  /** Absolute time at which the core wants the next `tick`. */
  readonly wakeAt: number;
}

/** One member as `Swim.inspect()` shows it to an invariant checker. */
export interface MemberInspection {
  readonly id: NodeId;
  readonly gossip: Address;
  readonly state: MemberState;
  readonly incarnation: number;
  readonly changedAt: number;
  /**
   * Tells table rows apart: equal (===) exactly while it is the same row; a member reaped or
   * replaced and then learned again gets a new row. Opaque: compare it, never read it.
   */
  readonly row: unknown;
  /**
   * Where the table keeps it: `inspect()` lists members in ascending order of it, so a checker
   * holding an earlier list finds a member in it without an index of its own.
   */
  readonly place?: number;
  /** When the suspicion runs out; present exactly when the member is suspect. */
  readonly suspicionDeadline?: number;
  /** When that suspicion was raised (its timeout counts from here). */
  readonly suspicionStartedAt?: number;
  /** Held in the reap set (where dead and left members wait to be forgotten). */
  readonly awaitingReap: boolean;
  /** The gossip-address index points at this member. */
  readonly addressIndexed: boolean;
  /** Left by an operator's force-leave, not by its own signed leave. */
  readonly forced?: boolean;
}

/** A read-only view of one core's state but its table: cheap enough to take after every step. */
export interface InspectionHead {
  readonly self: NodeId;
  readonly leaving: boolean;
  /** `now` of the last `handle` call; undefined before the first. */
  readonly lastCallAt: number | undefined;
  /** What `handle` would return as `wakeAt` now. */
  readonly wakeAt: number;
  /** `liveCount` as the core's cache gives it. */
  readonly liveCount: number;
  readonly probe?: { readonly phase: "direct" | "indirect"; readonly target: NodeId; readonly deadline: number };
  readonly relays: number;
}

/** A read-only view of one core's whole state, for checking invariants between steps. */
export interface Inspection extends InspectionHead {
  readonly members: readonly MemberInspection[];
  /** Index entries (reap set, suspect index, live cache, address index) that name no row of the table. */
  readonly strays: readonly string[];
}
