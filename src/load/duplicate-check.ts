/**
 * The cross-node duplicate check. A device that timed out retries the same packet id on another
 * node; before taking it, that node asks the nodes the packet may have reached whether they
 * have it (`findElsewhere`), and a node asked answers from its idempotency window (`answerAsk`).
 * Peers are reached only through the injected PeerClient.
 */
import type { Member } from "../membership/types.ts";
import type { IdempotencyWindow } from "./idempotency.ts";
import type { AskOutcome, PeerClient } from "./peer-protocol.ts";

/**
 * An earlier attempt may have landed elsewhere. `found`: it did, at `at`. `in-progress`: a node
 * is handling it right now. `unknown`: a live node that may have it did not answer, so taking it
 * could take it twice. `maybeAt`: the nodes to check again on the next retry.
 */
export type Found = { kind: "found"; at: string } | { kind: "in-progress" | "unknown"; maybeAt: string[] };
/** `none`: no node has it; take it. */
export type Verdict = Found | { kind: "none" };
export type Answer = { at: string; r: AskOutcome };

export interface CheckContext {
  /** This node's "ip:port". */
  readonly self: string;
  readonly members: readonly Readonly<Member>[];
  readonly client: PeerClient;
  readonly askTimeoutMs: number;
}

/**
 * Did an earlier attempt of this packet land somewhere? Ask the nodes it was tried at; if any
 * of them cannot answer, a forward it made may live on any node, so ask them all (`everyone`:
 * from the start). A node that crashed (refused, or declared dead) took its queue with it:
 * taking the packet again is then not a duplicate but the only way the work gets done. A live
 * node that stays silent, or one still handling it (pending), wins: the caller steps back with
 * a 503 and the device's next retry finds the outcome, so nothing is taken twice.
 */
export async function findElsewhere(
  ctx: CheckContext,
  id: string,
  tried: readonly string[],
  everyone = false,
): Promise<{ verdict: Verdict; answers: Answer[] }> {
  const { self, members } = ctx;
  const known = new Set(members.map((m) => m.info.http));
  const alive = new Set(members.filter((m) => m.state === "alive" || m.state === "suspect").map((m) => m.info.http));
  // Tried members are asked even if declared dead: one frozen past its suspicion timeout still
  // holds its queue. Addresses that are not members are never contacted (they come from devices).
  const ask = [...new Set(tried)].filter((a) => a !== self && known.has(a));
  const askAll = (addrs: readonly string[]) => Promise.all(addrs.map(async (at) => ({ at, r: await ctx.client.ask(at, id, self, ctx.askTimeoutMs) })));
  let answers = await askAll(ask);
  let verdict = judge(answers, self, alive);
  // A tried node that is gone or silent may have forwarded the packet anywhere: ask everyone.
  const wide = everyone || tried.some((a) => a !== self && !alive.has(a)) || answers.some(({ r }) => r.kind === "gone" || r.kind === "silent");
  if (!definite(verdict) && wide) {
    answers = [...answers, ...(await askAll([...alive].filter((a) => a !== self && !ask.includes(a))))];
    verdict = judge(answers, self, alive);
  }
  // Nodes the answers named (`maybe_at`) and not asked yet: once more, no further.
  const hinted = new Set(answers.flatMap(({ r }) => (r.kind === "new" ? (r.maybeAt ?? []) : [])));
  const more = [...hinted].filter((a) => a !== self && known.has(a) && !answers.some(({ at }) => at === a));
  if (!definite(verdict) && more.length > 0) {
    answers = [...answers, ...(await askAll(more))];
    verdict = judge(answers, self, alive);
  }
  return { verdict, answers };
}

const definite = (v: Verdict) => v.kind === "found" || v.kind === "in-progress";

/**
 * A definite record elsewhere wins, then one still in progress; our own record echoed back is
 * neither. Silence from a live (alive or suspect) member is not "not seen": it may be frozen or
 * slow with the packet queued, so the verdict is unknown. Silence from a member declared dead
 * counts as gone, so a packet never waits forever on a node that will not come back.
 */
export function judge(answers: readonly Answer[], self: string, alive: ReadonlySet<string>): Verdict {
  for (const { r } of answers) if (r.kind === "seen" && !r.pending && r.handledBy !== self) return { kind: "found", at: r.handledBy };
  const pending = answers.filter(({ r }) => r.kind === "seen" && r.pending && r.handledBy !== self);
  if (pending.length > 0) return { kind: "in-progress", maybeAt: pending.map(({ at }) => at) };
  const silent = answers.filter(({ at, r }) => r.kind === "silent" && alive.has(at));
  if (silent.length > 0) return { kind: "unknown", maybeAt: silent.map(({ at }) => at) };
  return { kind: "none" };
}

/** The answers in one line for the debug log: "ip:port:verdict". */
export function describeAnswers(answers: readonly Answer[]): string[] {
  return answers.map(({ at, r }) => `${at}:${r.kind === "seen" ? (r.pending ? "pending" : `done@${r.handledBy}`) : r.kind}`);
}

export interface AskReply {
  seen: boolean;
  handled_by?: string;
  pending?: boolean;
  maybe_at?: string[];
}

/**
 * Another node asks whether we have seen `id` (a device retried there after trying here).
 * If we know nothing we remember the asker, so a late copy of the original arriving here is
 * checked with it before being taken. Nodes that may have it by what we know (others that
 * asked, or ones we stepped back for, e.g. a forward that went unanswered) go back as
 * `maybe_at`, so the asker checks them too: a forward is invisible to the device's `tried`.
 * `heldFor`: the owner of our backup copy of `id`, if we keep one — then the owner has it.
 */
export function answerAsk(window: IdempotencyWindow, now: number, id: string, asker: string, heldFor?: string): AskReply {
  const before = window.get(now, id);
  // We keep a copy for its owner (we are its backup): the owner has it.
  if (heldFor !== undefined && before?.state !== "done" && before?.state !== "pending") return { seen: true, handled_by: heldFor };
  const maybeAt = before?.state === "asked" ? before.askers!.filter((a) => a !== asker) : [];
  const r = window.ask(now, id, asker);
  if (!r) return maybeAt.length > 0 ? { seen: false, maybe_at: maybeAt } : { seen: false };
  return r.state === "pending" ? { seen: true, handled_by: r.handledBy, pending: true } : { seen: true, handled_by: r.handledBy };
}
