/**
 * `dsef force-leave`: an operator marks a dead member left, cluster-wide, so nobody retries it;
 * `--prune` forgets it. Only the member signs its own `left`, so this is not a claim that
 * travels in gossip: the node asked applies it, then asks every live member over authenticated
 * HTTP to apply it too, and each one decides for itself. Nobody removes a live member:
 *
 * - a member alive in the deciding node's view is refused;
 * - a dead or suspect one is first asked, at once, over UDP and HTTP: its own proof of life on
 *   either path refuses the request;
 * - the member is then sent `dead` at its incarnation, so one that lives after all (a partition,
 *   a long pause) refutes, and its refutation outranks the tombstone on every node.
 */
import { isLive } from "../membership/member-table.ts";
import type { NodeId } from "../membership/types.ts";
import { peerFetch } from "../ports/peer-http.ts";
import type { EdgeNode } from "./edge-node.ts";
import { fanOut } from "./fan-out.ts";
import { checkMember, provesLife } from "./member-check.ts";

export const FORGET_PATH = "/members/forget";
/** How long a member has to prove it lives before it is forced out. */
export const LIFE_CHECK_MS = 1000;

export type LocalOutcome = "left" | "pruned" | "already left" | "not known here";
export type ForceLeaveVerdict =
  | { readonly ok: true; readonly outcome: LocalOutcome }
  | { readonly ok: false; readonly status: 400 | 409; readonly reason: string };

/** Apply a force-leave on this node, under the rules above. */
export async function forceLeaveHere(node: EdgeNode, id: NodeId, prune: boolean, checkMs = LIFE_CHECK_MS): Promise<ForceLeaveVerdict> {
  if (id === node.swim.self.id) return { ok: false, status: 400, reason: "that is this node: stop it instead, and it leaves by itself" };
  const m = node.member(id);
  if (!m) return { ok: true, outcome: "not known here" };
  // The row changes under us (it is the table's own): what it was when asked decides the outcome.
  const was = m.state;
  if (was === "alive") return refusedAlive();
  if (was === "suspect" || was === "dead") {
    const check = await checkMember(node, m, checkMs);
    if (provesLife(check))
      return { ok: false, status: 409, reason: `it answered a probe just now (${check.udp.answered ? "UDP" : "HTTP"}): alive, not removed` };
    // It may have refuted while we asked.
    const now = node.member(id);
    if (now?.state === "alive") return refusedAlive();
    if (now && now.state !== "left") node.dispatch({ type: "force-leave", id });
  }
  if (prune) {
    node.dispatch({ type: "forget", id });
    return { ok: true, outcome: node.member(id) ? "left" : "pruned" };
  }
  return { ok: true, outcome: was === "left" ? "already left" : "left" };
}

function refusedAlive(): ForceLeaveVerdict {
  return { ok: false, status: 409, reason: "alive here: a live member is never forced out (it refutes)" };
}

/** What one other member said to the force-leave. */
export interface PeerVerdict {
  readonly id: NodeId;
  readonly name: string;
  readonly ok: boolean;
  readonly outcome: string;
}

/**
 * Ask every other live member to apply the force-leave. `headers` authenticate this node where
 * node authentication does not (an open cluster with an API token); node auth is added by peerFetch.
 */
export async function forceLeaveEverywhere(
  node: EdgeNode,
  id: NodeId,
  prune: boolean,
  timeoutMs: number,
  headers: Record<string, string>,
): Promise<PeerVerdict[]> {
  const self = node.swim.self.id;
  const peers = node.members().filter((m) => isLive(m.state) && m.info.id !== self && m.info.id !== id);
  const body = JSON.stringify({ id, prune });
  return fanOut(peers, async (p): Promise<PeerVerdict> => {
    const verdict = (ok: boolean, outcome: string) => ({ id: p.info.id, name: p.info.name, ok, outcome });
    try {
      const res = await peerFetch(p.info.http, FORGET_PATH, {
        headers: { "content-type": "application/json", ...headers },
        body,
        sign: true,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const answer = (await res.json().catch(() => ({}))) as { outcome?: unknown; error?: unknown };
      if (res.ok && typeof answer.outcome === "string") return verdict(true, answer.outcome.slice(0, 80));
      return verdict(false, typeof answer.error === "string" ? `refused: ${answer.error.slice(0, 120)}` : `HTTP ${res.status}`);
    } catch (e) {
      return verdict(false, (e as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : "unreachable");
    }
  });
}
