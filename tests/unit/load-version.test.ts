/** Load figures leave the core in a form the wire accepts, whatever the clock's fraction. */
import { expect, test } from "bun:test";
import { Swim } from "../../src/membership/swim.ts";
import { profiles } from "../../src/membership/timing.ts";
import type { Update } from "../../src/membership/types.ts";
import { seededRandom } from "../../src/util/random.ts";
import { decodeMessage, encodedSize, encodeMessage } from "../../src/wire/codec.ts";

test("published load versions are integers that only grow, and survive the codec", () => {
  const self = { id: "n1", name: "n1", gossip: "10.0.0.1:7946", http: "10.0.0.1:5000", capacity: 100 };
  const now0 = 1796054897499.8623;
  const s = new Swim({ self, timing: profiles.lan, random: seededRandom(1), sizeOf: encodedSize, now: now0 });
  const versions: number[] = [];
  for (const [dt, backlog] of [
    [0, 5],
    [0.3, 6],
    [0.6, 7],
    [1000.25, 8],
  ] as const) {
    s.handle(now0 + dt, { type: "load", backlog });
    const load = s.member("n1")!.load!;
    versions.push(load.version);
    const u: Update = { kind: "load", id: "n1", load };
    const d = decodeMessage(encodeMessage({ type: "gossip", from: "n1", updates: [u] }));
    expect(d.ok && d.droppedUpdates === 0).toBe(true);
  }
  expect(versions.every(Number.isInteger)).toBe(true);
  expect(versions.every((v, i) => i === 0 || v > versions[i - 1]!)).toBe(true);
});
