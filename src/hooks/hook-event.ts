/**
 * Membership events as hooks see them (Serf's vocabulary), and the line a handler reads per
 * member. Pure.
 *
 * A handler's stdin holds one member a line, tab-separated:
 *   name, address (ip:port of its HTTP API), state, tags (k=v,k=v; empty without tags), id
 * Names and tags hold printable characters only (tag values no comma), so a field never splits.
 */
import type { HookEventName } from "../config/hook-flags.ts";
import type { MemberEvent, MemberEventType, MemberState } from "../membership/types.ts";

export interface HookMember {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly state: MemberState;
  readonly incarnation: number;
  readonly tags: Readonly<Record<string, string>>;
}

export interface HookEvent {
  readonly event: HookEventName;
  /** Wall-clock ms when this node saw it. */
  readonly at: number;
  readonly member: HookMember;
  /** Who reported it (suspect, failed), when known. */
  readonly by?: string;
  readonly reason?: string;
}

const NAMES: Record<MemberEventType, HookEventName> = {
  joined: "member-join",
  rejoined: "member-join",
  left: "member-leave",
  dead: "member-failed",
  updated: "member-update",
  suspect: "member-suspect",
  alive: "member-alive",
  // This node refuted a suspicion about itself: it is alive, and says so.
  refuted: "member-alive",
};

export function hookEvent(e: MemberEvent, wallNow: number): HookEvent {
  const m = e.member;
  return {
    event: NAMES[e.type],
    at: wallNow,
    member: { id: m.info.id, name: m.info.name, address: m.info.http, state: m.state, incarnation: m.incarnation, tags: { ...(m.info.tags ?? {}) } },
    ...(e.by ? { by: e.by } : {}),
    ...(e.reason ? { reason: e.reason } : {}),
  };
}

const field = (s: string) => s.replace(/[\t\r\n]/g, " ");

/** One stdin line for a handler (without the newline). */
export function memberLine(m: HookMember): string {
  const tags = Object.entries(m.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return [m.name, m.address, m.state, tags, m.id].map(field).join("\t");
}

/** Consecutive events of one name, in order: one handler run each (the event is in its environment). */
export function runsOf(events: readonly HookEvent[]): { event: HookEventName; members: HookMember[] }[] {
  const out: { event: HookEventName; members: HookMember[] }[] = [];
  for (const e of events) {
    const last = out.at(-1);
    if (last?.event === e.event) last.members.push(e.member);
    else out.push({ event: e.event, members: [e.member] });
  }
  return out;
}
