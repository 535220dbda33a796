/**
 * `dsef keys`: what every live member said about its cluster keys, per key (pure). And the rules
 * that make a rotation safe: a key is used only once every member holds it, removed only once no
 * member sends with it, and a member that did not answer blocks both (it might).
 */

/** One member's keys, by id. */
export interface MemberKeys {
  readonly id: string;
  readonly name: string;
  readonly accepted: readonly string[];
  readonly sending: string | null;
}

/** A member asked that gave no usable answer. */
export interface Unanswered {
  readonly id: string;
  readonly name: string;
  readonly why: string;
}

export interface KeyRow {
  readonly kid: string;
  /** Members that hold it (accept it). */
  readonly held_by: number;
  /** Members that send with it. */
  readonly sending: number;
  /** Names of the members that answered and do not hold it. */
  readonly missing: string[];
}

export interface KeysReport {
  /** Members asked (this node included). */
  readonly members: number;
  readonly answered: number;
  readonly keys: KeyRow[];
  readonly unanswered: Unanswered[];
}

/** Per key: held by how many, sent with by how many, missing where; keys most used first. */
export function keysReport(views: readonly MemberKeys[], unanswered: readonly Unanswered[]): KeysReport {
  const kids = new Set<string>();
  for (const v of views) for (const k of v.accepted) kids.add(k);
  const keys = [...kids].map((kid) => ({
    kid,
    held_by: views.filter((v) => v.accepted.includes(kid)).length,
    sending: views.filter((v) => v.sending === kid).length,
    missing: views.filter((v) => !v.accepted.includes(kid)).map((v) => v.name),
  }));
  keys.sort((a, b) => b.sending - a.sending || b.held_by - a.held_by || a.kid.localeCompare(b.kid));
  return { members: views.length + unanswered.length, answered: views.length, keys, unanswered: [...unanswered] };
}

const names = (xs: readonly { name: string }[]): string => xs.map((x) => x.name).join(", ");

/** Why `kid` may not become the key everyone sends with yet; undefined: it may. */
export function useBlocker(views: readonly MemberKeys[], unanswered: readonly Unanswered[], kid: string): string | undefined {
  const missing = views.filter((v) => !v.accepted.includes(kid));
  if (missing.length > 0) return `key ${kid} is not held by ${names(missing)}: install it everywhere first (dsef keys install)`;
  if (unanswered.length > 0) return `cannot tell whether ${names(unanswered)} hold key ${kid} (no answer): retry once they answer`;
  return undefined;
}

/** Why `kid` may not be removed yet; undefined: it may. */
export function removeBlocker(views: readonly MemberKeys[], unanswered: readonly Unanswered[], kid: string): string | undefined {
  const senders = views.filter((v) => v.sending === kid);
  if (senders.length > 0) return `key ${kid} is still used by ${names(senders)}: use another key first (dsef keys use)`;
  const last = views.filter((v) => v.accepted.length === 1 && v.accepted[0] === kid);
  if (last.length > 0) return `key ${kid} is the only key ${names(last)} holds`;
  if (unanswered.length > 0) return `cannot tell whether ${names(unanswered)} still use key ${kid} (no answer): retry once they answer`;
  return undefined;
}
