/**
 * The node's side of graceful overload (the rules are in pacer.ts): it feeds the pacer the
 * node's own queue and the cluster's gossiped backlogs, and says which devices are refused
 * before routing and how long every reply asks a device to wait.
 */
import type { Candidate } from "./balancer.ts";
import { Pacer } from "./pacer.ts";
import type { PacketQueue } from "./packet-queue.ts";
import type { RoutePolicy } from "./router.ts";

export class Admission {
  readonly pacer: Pacer;

  constructor(
    policy: RoutePolicy,
    private readonly queue: PacketQueue,
    /** Alive peers with their estimated load (peer-loads.ts). */
    private readonly peers: () => readonly Candidate[],
  ) {
    this.pacer = new Pacer(policy.paceAbove ?? Math.max(policy.forwardAbove, policy.maxBacklog / 5), policy.maxBacklog);
  }

  observe(device: string | undefined, units: number, now: number): void {
    this.pacer.observe(device ?? "", units, now);
  }

  /**
   * A device that ignores pacing: back here before the time this node gave it, or holding more
   * than its share of this busy node's queue. Undefined: it may go on.
   */
  refusal(device: string | undefined, now: number): { error: string; waitMs: number } | undefined {
    const d = device ?? "";
    const early = this.pacer.early(d, now);
    if (early > 0) return { error: "this device was asked to wait, retry later", waitMs: early };
    const seconds = this.queue.seconds(now);
    if (seconds <= this.pacer.paceAbove / 2 || this.pacer.fair(this.queue.deviceUnits(d), this.queue.devices, seconds, this.queue.capacity())) return undefined;
    return { error: "this device has more than its share of the queue, retry later", waitMs: 0 };
  }

  /** Milliseconds until `device` should send again (0: this node is not busy). */
  pace(now: number, device?: string): number {
    const capacity = this.queue.capacity();
    const seconds = this.queue.seconds(now);
    return this.pacer.pace({ now, seconds, capacity, cluster: () => this.#cluster(seconds, capacity) }, device);
  }

  /** The cluster's queued work over its capacity (when it will have drained), and its capacity. */
  #cluster(seconds: number, capacity: number): { seconds: number; capacity: number } {
    let work = seconds * capacity;
    let total = capacity;
    for (const p of this.peers()) {
      work += p.ratio * p.capacity;
      total += p.capacity;
    }
    return { seconds: work / total, capacity: total };
  }
}
