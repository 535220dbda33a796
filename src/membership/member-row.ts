/** One row of the member table: its shape, how one is made, and the views of it the table hands out. */
import type { Suspicion } from "./suspicion.ts";
import type { LoadFigures, Member, MemberInspection, MemberSnapshot, MemberState, NodeInfo, Proof } from "./types.ts";

interface RowFields {
  info: NodeInfo;
  incarnation: number;
  /** Local time of the last state change, for reaping and "last change" display. */
  changedAt: number;
  /** Tells this row from another of the same member (forgotten and learned again); a copy keeps it. */
  rowId: number;
  proof?: Proof;
  load?: LoadFigures;
  loadProof?: Proof;
}

/**
 * Where a member stands. A suspect carries its own suspicion (and so its deadline): a suspect
 * without a timer cannot be written down.
 */
export type Liveness =
  | { readonly state: "alive" | "dead" | "left"; readonly suspicion?: undefined }
  | { readonly state: "suspect"; readonly suspicion: Suspicion };

export const ALIVE: Liveness = { state: "alive" };
export const DEAD: Liveness = { state: "dead" };
export const LEFT: Liveness = { state: "left" };

/**
 * One row of the member table: a plain object, seen by callers outside the core as a read-only
 * `Member`. Its liveness changes only through `MemberTable.enter`, so the table's indices
 * always agree. A row may be shared by the tables of many simulated nodes (a warm start): it is
 * written only through the table, which copies a shared row first (`own`).
 */
export type MemberRecord = RowFields & Liveness;

export const isLive = (s: MemberState): boolean => s === "alive" || s === "suspect";
export const isGone = (s: MemberState): boolean => s === "dead" || s === "left";

/**
 * A row with the five fields every member has. Built here, apart from the code that may add
 * more: JavaScriptCore sizes a literal for the properties it sees assigned next to it.
 */
export function newRow(info: NodeInfo, state: MemberState, incarnation: number, changedAt: number, rowId: number): MemberRecord {
  return { info, state, incarnation, changedAt, rowId } as MemberRecord;
}

export function setLiveness(m: MemberRecord, l: Liveness): void {
  const w = m as RowFields & { state: MemberState; suspicion?: Suspicion };
  w.state = l.state;
  // Rows never suspected never get the field (a smaller object).
  if (l.suspicion || w.suspicion) w.suspicion = l.suspicion;
}

export function settledRow(s: MemberSnapshot, now: number, rowId: number): MemberRecord {
  const r = newRow(s.info, s.state, s.incarnation, now, rowId);
  if (s.proof) r.proof = s.proof;
  if (s.load) r.load = s.load;
  if (s.loadProof) r.loadProof = s.loadProof;
  return r;
}

export function inspectRow(m: MemberRecord, place: number, awaitingReap: boolean, addressIndexed: boolean, forced: boolean): MemberInspection {
  const s = m.state === "suspect" ? m.suspicion : undefined;
  return {
    id: m.info.id,
    gossip: m.info.gossip,
    state: m.state,
    incarnation: m.incarnation,
    changedAt: m.changedAt,
    row: m.rowId,
    place,
    suspicionDeadline: s?.deadline,
    suspicionStartedAt: s?.startedAt,
    awaitingReap,
    addressIndexed,
    forced,
  };
}

export function toSnapshot(m: Readonly<Member>): MemberSnapshot {
  const s: { -readonly [K in keyof MemberSnapshot]: MemberSnapshot[K] } = { info: m.info, state: m.state, incarnation: m.incarnation };
  if (m.proof) s.proof = m.proof;
  if (m.load) s.load = m.load;
  if (m.loadProof) s.loadProof = m.loadProof;
  return s;
}
