/**
 * Graceful overload, decided at admission: pacing and per-device fairness.
 *
 * Pacing. While a node holds more than half of `paceAbove` seconds of work, every reply it gives
 * (an acknowledgement or a 503) tells the device when to send next (`pace_ms`; `Retry-After` on
 * a 503): one round-robin period, the time the cluster needs to work through one packet from
 * every active device —
 *
 *     period = active devices × average packet (units) / cluster capacity × stretch,
 *     stretch = the cluster's queued work / paceAbove, between 0.5 and 2.
 *
 * Devices that honour it send about as fast as the cluster works (the stretch corrects what the
 * estimates miss: the backlog settles near `paceAbove`, the queue never runs dry, so goodput
 * stays at capacity) and each gets the same share, whichever node it asked, at about one
 * request per packet instead of a retry storm. Active devices are those seen here within a
 * window long enough for a device spreading its packets over the nodes by capacity to have
 * come by about four times.
 *
 * Fairness. A device that ignores pacing must not crowd the others out. The node remembers
 * when it told each device to come back; one that comes back here clearly earlier is refused (a
 * 503 with the time left), so a flooding device gets at most one packet per period from each
 * node. And while busy, a device whose queued and running work here already exceeds its share
 * of the queue (--max-backlog × capacity / devices with work here) is refused too. Packets
 * without a device id cannot be told apart, so they are paced but never refused as early.
 */
import { RecentKeys } from "./recent-keys.ts";

const AVG_ALPHA = 0.05;
const MIN_STRETCH = 0.5;
const MAX_STRETCH = 2;
const MIN_WINDOW_MS = 5_000;
const MAX_WINDOW_MS = 300_000;
/** Devices remembered for the count (beyond it the count is a floor). */
const MAX_DEVICES = 200_000;
/** Coming back this much before the time given is not "early" (timers and clocks are not exact). */
const EARLY_SLACK_MS = 20;
const EARLY_SLACK = 0.1;

export interface PaceInput {
  /** Milliseconds. */
  readonly now: number;
  /** This node's queued and running work, seconds. */
  readonly seconds: number;
  /** This node's capacity, units per second. */
  readonly capacity: number;
  /** The cluster's queued work over its capacity (seconds), and its capacity (units/s); read only when pacing. */
  readonly cluster: () => { seconds: number; capacity: number };
}

export class Pacer {
  #avgUnits = 0;
  #periodS = 0;
  readonly #devices = new RecentKeys(MAX_DEVICES);
  /** When each device was told to come back (bounded like #devices). */
  readonly #due = new RecentKeys(MAX_DEVICES);

  constructor(
    /** Seconds of work the cluster's queues settle at under overload. */
    readonly paceAbove: number,
    /** --max-backlog, seconds. */
    readonly maxBacklog: number,
  ) {}

  /** A packet from `device` (its id, "" without one) of `units`. */
  observe(device: string, units: number, now: number): void {
    this.#avgUnits = this.#avgUnits === 0 ? units : this.#avgUnits + AVG_ALPHA * (units - this.#avgUnits);
    // A second's precision is plenty for a window of at least five.
    this.#devices.touch(device, now, 1000);
  }

  /** Milliseconds left before `device` may send again by what this node told it (0: now). */
  early(device: string, now: number): number {
    if (device === "") return 0;
    const due = this.#due.get(device);
    if (due === undefined) return 0;
    const slack = Math.max(EARLY_SLACK_MS, EARLY_SLACK * this.#periodS * 1000);
    return due - now > slack ? Math.round(due - now) : 0;
  }

  /** Milliseconds `device` should wait before its next request; 0 when the node is not busy. */
  pace(i: PaceInput, device = ""): number {
    if (i.seconds <= this.paceAbove / 2) return 0;
    const c = i.cluster();
    const stretch = Math.min(MAX_STRETCH, Math.max(MIN_STRETCH, c.seconds / this.paceAbove));
    const windowMs = Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, (4000 * this.#periodS * c.capacity) / i.capacity));
    const devices = this.#devices.count(i.now, windowMs);
    this.#periodS = ((devices * this.#avgUnits) / c.capacity) * stretch;
    const ms = Math.round(this.#periodS * 1000);
    if (device !== "") this.#due.see(device, i.now + ms);
    return ms;
  }

  /** May a device with `deviceUnits` queued and running here add a packet now? */
  fair(deviceUnits: number, devices: number, seconds: number, capacity: number): boolean {
    if (seconds <= this.paceAbove / 2) return true;
    return deviceUnits < (this.maxBacklog * capacity) / Math.max(1, devices);
  }
}
