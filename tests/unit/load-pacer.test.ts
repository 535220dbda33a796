import { describe, expect, test } from "bun:test";
import { Pacer } from "../../src/load/pacer.ts";
import { RecentKeys } from "../../src/load/recent-keys.ts";

describe("Pacer", () => {
  /** One node of capacity 100 in a cluster of 400 units/s. */
  const input = (now: number, seconds: number, cluster = seconds) => ({ now, seconds, capacity: 100, cluster: () => ({ seconds: cluster, capacity: 400 }) });

  test("a node with little work queued paces nobody", () => {
    const p = new Pacer(1, 5);
    p.observe("d1", 10, 0);
    expect(p.pace(input(0, 0.4))).toBe(0);
  });

  test("a busy node gives every device one round-robin period: devices × average packet / cluster capacity × stretch", () => {
    const p = new Pacer(1, 5);
    for (let d = 0; d < 40; d++) p.observe(`d${d}`, 20, 0); // 40 devices, 20 units a packet
    // 40 × 20 / 400 = 2 s a round; the cluster holds exactly the target: stretch 1.
    expect(p.pace(input(0, 1.2, 1))).toBe(2000);
    // The same answer for the next device: a period, not a line of slots.
    expect(p.pace(input(0, 1.2, 1))).toBe(2000);
    // Above the target the period stretches (up to 2×) so the queues drain back; below it shrinks (to 0.5×).
    expect(p.pace(input(0, 3, 1.5))).toBe(3000);
    expect(p.pace(input(0, 9, 9))).toBe(4000);
    expect(p.pace(input(0, 0.6, 0.2))).toBe(1000);
  });

  test("only devices seen within the window count", () => {
    const p = new Pacer(1, 5);
    p.observe("old", 20, 0);
    p.observe("new", 20, 60_000);
    expect(p.pace(input(60_000, 2, 1))).toBe(50); // 1 device × 20 / 400 s (the old one left the 5 s window)
  });

  test("fairness: while busy, a device over its share of the queue is refused; one with nothing queued is not", () => {
    const p = new Pacer(1, 5);
    // 5 s × 100 units/s shared by 4 devices: 125 units each.
    expect(p.fair(125, 4, 2, 100)).toBe(false);
    expect(p.fair(100, 4, 2, 100)).toBe(true);
    expect(p.fair(0, 4, 2, 100)).toBe(true);
    expect(p.fair(400, 4, 0.4, 100)).toBe(true); // not busy: no shares
  });
});

test("RecentKeys counts distinct keys within a window, bounded", () => {
  const k = new RecentKeys(3);
  k.see("a", 0);
  k.see("b", 10);
  k.see("a", 20); // seen again: now the most recent
  expect(k.count(20, 100)).toBe(2);
  expect(k.count(115, 100)).toBe(1); // b (at 10) is out of the window, a (at 20) in
  for (const x of ["c", "d", "e", "f"]) k.see(x, 120);
  expect(k.count(120, 1000)).toBe(3);
});
