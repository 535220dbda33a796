/**
 * Running the packets of a node that is gone, from the copies this node kept as its backup
 * (backups.ts hands them over): each runs here once, flagged as taken over, and is handed to
 * our own backup in turn — unless it is already here, or another node took it.
 */
import type { Verdict } from "./duplicate-check.ts";
import type { IdempotencyWindow } from "./idempotency.ts";
import type { Outcomes } from "./outcomes.ts";
import type { PacketQueue } from "./packet-queue.ts";
import type { HeldPacket } from "./replica-store.ts";

export interface TakeoverParts {
  /** This node's "ip:port". */
  readonly self: string;
  readonly queue: PacketQueue;
  readonly outcomes: Outcomes;
  readonly window: IdempotencyWindow;
  now(): number;
  /** Hand the packet to our own backup. */
  keep(h: HeldPacket): void;
  /** Has one of `askers` taken packet `id` (duplicate-check.ts)? */
  check(id: string, askers: readonly string[]): Promise<Verdict>;
}

/** `from`: the owner ("ip:port") that is gone. */
export function runOrphans(p: TakeoverParts, packets: readonly HeldPacket[], from: string): void {
  const now = p.now();
  for (const h of packets) {
    if (p.queue.has(h.id) || p.outcomes.get(h.id, now)) continue;
    const prior = p.window.get(now, h.id);
    // Taken elsewhere already (a device's retry we forwarded, or found as a duplicate); "done at
    // the owner" is what we answered for our copy while the owner lived: ours to run now.
    if (prior?.state === "done" && prior.handledBy !== p.self && prior.handledBy !== from) continue;
    // Nodes asked about it before its copy reached us (the owner died mid hand-off, the device
    // retried there): one of them may have taken it, or be taking it right now. The device never
    // had an acknowledgement then, so it retries until some node takes it: we need not. Else
    // (nobody has it, or a silent node) it runs here.
    if (prior?.state === "asked") {
      void p.check(h.id, prior.askers ?? []).then((v) => {
        if (v.kind === "found") p.window.settle(h.id, v.at);
        else if (v.kind !== "in-progress") run(p, h);
      });
      continue;
    }
    run(p, h);
  }
}

function run(p: TakeoverParts, h: HeldPacket): void {
  const now = p.now();
  if (p.queue.has(h.id) || p.outcomes.get(h.id, now)) return;
  p.window.record(now, h.id, p.self);
  p.keep(h);
  p.queue.add({ id: h.id, units: h.units, deviceId: h.device_id, payload: h.payload, takeover: true }, now);
}
