import type { MemberState } from "./types.ts";

/**
 * Who may raise an incarnation, and how far. A member's incarnation is what its latest `alive`
 * says (signed by the member in secured modes). Others may only say it is suspect or dead at
 * that incarnation, or left one above it (a leave raises it by one); a claim naming more was
 * made up, and is dropped. The subject itself starts at its clock in seconds since the epoch and
 * refutes at most REFUTE_AHEAD_S times faster than the clock runs, so no honest incarnation is
 * more than that ahead of the clock: receivers refuse anything beyond their clock plus
 * INCARNATION_SLACK_S, and MAX_INCARNATION keeps every value far from 2^53.
 */

/** The largest incarnation a datagram or a member table may carry (2^40 s is 34 000 years). */
export const MAX_INCARNATION = 2 ** 40;

/** How far ahead of its clock (in seconds) a node's own refutations may take its incarnation. */
export const REFUTE_AHEAD_S = 60;

/**
 * How far ahead of the receiver's clock (in seconds) an incarnation may be: REFUTE_AHEAD_S plus
 * room for clocks that disagree (and a restart that starts above its previous life).
 */
export const INCARNATION_SLACK_S = 3600;

/** The highest incarnation any claim may name at local time `now` (ms on the epoch's scale). */
export function incarnationCeiling(now: number): number {
  return Math.floor(now / 1000) + INCARNATION_SLACK_S;
}

/** When this node may refute up to incarnation `next`: at once, or when its clock catches up. */
export function refutableAt(next: number): number {
  return (next - REFUTE_AHEAD_S) * 1000;
}

/**
 * May someone other than the subject claim `state` at `incarnation` about a member we hold at
 * `known`? Only `alive` may raise it (the subject speaks), `left` by the one step a leave takes.
 */
export function announced(known: number, state: MemberState, incarnation: number): boolean {
  if (state === "alive") return true;
  return incarnation <= (state === "left" ? known + 1 : known);
}
