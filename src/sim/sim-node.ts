import type { NodeDriver } from "../driver/node-driver.ts";
import type { ClaimStats } from "../identity/claims.ts";
import type { NodeIdentity } from "../identity/node-identity.ts";
import { CoreHistory, type OwnerView } from "../membership/invariants.ts";
import type { Swim } from "../membership/swim.ts";
import type { Address, NodeInfo } from "../membership/types.ts";

/** One simulated process: its identity, its driver, its status, and what the checker saw of it. */
/** up: running; paused: SIGSTOP (datagrams queue up, ports still accept); crashed: process gone. */
export type NodeStatus = "up" | "paused" | "crashed";

export class SimNode {
  status: NodeStatus = "up";
  /** Datagrams that arrived while paused, delivered on resume (the kernel's socket buffer). */
  backlog: { source: Address; datagram: Uint8Array }[] = [];
  /** Bumped whenever the timer is re-armed: an older wake-up finds it changed and does nothing. */
  timerToken = 0;
  /** What the invariant checker saw of this node's current core. */
  history = new CoreHistory();
  /** Large clusters: when this node's whole table is checked next. */
  nextSweepAt = 0;
  /** The highest incarnation an earlier run of this identity reached, and whether one left. */
  mintedBefore = 0;
  leftBefore = false;
  claimStats: () => ClaimStats | undefined = () => undefined;
  driver!: NodeDriver;

  constructor(
    readonly index: number,
    readonly info: NodeInfo,
    /** Its Ed25519 key when the cluster runs secured. */
    readonly identity: NodeIdentity | undefined,
  ) {}

  readonly #owner = { incarnation: 0, leaving: false };

  /** What this identity has done over all its runs, for the checks of other nodes' views of it (read at once: reused). */
  get owner(): OwnerView {
    const swim = this.driver.swim;
    this.#owner.incarnation = Math.max(this.mintedBefore, swim.incarnation);
    this.#owner.leaving = this.leftBefore || swim.leaving;
    return this.#owner;
  }

  get id(): string {
    return this.info.id;
  }

  get swim(): Swim {
    return this.driver.swim;
  }
}
