/**
 * Wire protocol versions. Every datagram says the version it is written in, and every alive
 * claim the range its node speaks. A node writes the highest version every live member speaks
 * (memberlist's rule), so during a rolling upgrade the cluster talks the old version until the
 * last old node is gone. Within a version, additions are optional fields and new update kinds,
 * which older decoders skip (counted) instead of dropping the datagram.
 */
import type { ProtocolRange } from "../membership/types.ts";

/**
 * Tests of rolling upgrades only (DSEF_PROTOCOL_TEST_NEXT=1): this build plays its own next
 * version, which adds an envelope field and an update kind (see `nextVersionExtras`).
 */
export const TEST_NEXT = typeof process !== "undefined" && process.env.DSEF_PROTOCOL_TEST_NEXT === "1";

/** The highest version this build writes: 1 msgpack, 2 JSON (wire/codec.ts). */
const CURRENT = 2;
/** What this build speaks. */
export const PROTOCOL: ProtocolRange = { min: 1, max: TEST_NEXT ? CURRENT + 1 : CURRENT };
/** A node that announces no range (none of today's) speaks version 1. */
export const LEGACY: ProtocolRange = { min: 1, max: 1 };
/** Versions fit a byte on the wire. */
export const MAX_VERSION = 255;

export const rangeOf = (r: ProtocolRange | undefined): ProtocolRange => r ?? LEGACY;

export function speaks(r: ProtocolRange, version: number): boolean {
  return version >= r.min && version <= r.max;
}

/** Why a peer speaking `theirs` cannot talk with this build, or undefined when it can. */
export function mismatch(theirs: ProtocolRange | undefined, ours: ProtocolRange = PROTOCOL): string | undefined {
  const t = rangeOf(theirs);
  return t.max < ours.min || t.min > ours.max
    ? `protocol versions ${t.min}..${t.max} and this node's ${ours.min}..${ours.max} have none in common (upgrade one side)`
    : undefined;
}

/**
 * The version to write in a cluster whose live members speak `ranges`: the highest all of them
 * speak. Never below this node's own minimum: a member whose builds are too far apart is cut
 * off (its datagrams and ours are dropped as `version`, counted on both sides).
 */
export function clusterVersion(self: ProtocolRange, ranges: Iterable<ProtocolRange>): number {
  let top = self.max;
  for (const r of ranges) top = Math.min(top, r.max);
  return Math.max(top, self.min);
}

/**
 * The test-only next version's additions: an envelope field (`x`) in datagrams written in the
 * next version, and an update kind (12) this build does not know, in every datagram: both are
 * what a real newer build would add, and older builds must skip them.
 */
export function nextVersionExtras(self: string): (version: number) => { fields?: Record<string, unknown>; updates: Record<string, unknown>[] } {
  const updates = [{ k: 12, id: self, z: "next" }];
  const next = { fields: { x: CURRENT + 1 }, updates };
  const current = { updates };
  return (version) => (version > CURRENT ? next : current);
}
