/**
 * `dsef why`: the story of one member, from this node's evidence log and every live member's.
 * Each node answers for itself (GET /members/:id/evidence, node-authenticated); the node the
 * operator asked gathers the answers, checked against their schema, and says who did not answer.
 */
import * as v from "valibot";
import { isLive } from "../membership/member-table.ts";
import type { NodeId } from "../membership/types.ts";
import { peerFetch } from "../ports/peer-http.ts";
import { evidenceToJson, type NodeReport, nodeReportSchema } from "../wire/evidence-schema.ts";
import { type EdgeNode, monotonicNow } from "./edge-node.ts";
import { fanOut } from "./fan-out.ts";

export const evidencePath = (id: NodeId): string => `/members/${encodeURIComponent(id)}/evidence`;
/** Reports are at most a few tens of kilobytes; a longer answer is not one. */
const MAX_REPORT_BYTES = 256 * 1024;

/** This node's evidence about `id`, and how it holds the member now. */
export function localReport(node: EdgeNode, id: NodeId): NodeReport {
  // The core's clock is epoch-scaled but monotonic: shift it onto the wall clock, for merging.
  const offset = Date.now() - monotonicNow();
  const wall = (t: number) => t + offset;
  const story = node.evidence.of(id);
  const entries = (story?.entries ?? []).map((e) => evidenceToJson(e, wall));
  const m = node.member(id);
  const names: Record<string, string> = {};
  const name = (x: string) => {
    if (x in names) return;
    const n = node.member(x)?.info.name ?? node.evidence.of(x)?.name;
    if (n !== undefined) names[x] = n;
  };
  name(id);
  for (const e of entries) {
    name(e.by);
    if (e.via !== undefined) name(e.via);
    for (const r of e.relays ?? []) name(r);
  }
  const self = node.swim.self;
  return {
    node: { id: self.id, name: self.name },
    ...(m ? { view: { state: m.state, incarnation: m.incarnation, last_change: new Date(wall(m.changedAt)).toISOString() } } : {}),
    entries,
    names,
  };
}

export interface Unanswered {
  readonly id: NodeId;
  readonly name: string;
  readonly why: string;
}

/** Members asked at most: in a larger cluster, a random sample of them (and the member itself). */
export const MAX_ASKED = 64;

/**
 * Other live members' reports about `id`: the member itself first when it is live (its own view
 * of its story), then the others, at most MAX_ASKED in all.
 */
export async function peerReports(
  node: EdgeNode,
  id: NodeId,
  timeoutMs: number,
  headers: Record<string, string>,
): Promise<{ reports: NodeReport[]; unanswered: Unanswered[]; live: number }> {
  const self = node.swim.self.id;
  const live = node.members().filter((m) => isLive(m.state) && m.info.id !== self);
  const others = live.filter((m) => m.info.id !== id);
  for (let i = others.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [others[i], others[j]] = [others[j]!, others[i]!];
  }
  const subject = live.filter((m) => m.info.id === id);
  const peers = [...subject, ...others].slice(0, MAX_ASKED);
  const path = evidencePath(id);
  const answers = await fanOut(peers, async (p): Promise<NodeReport | Unanswered> => {
    const missing = (why: string): Unanswered => ({ id: p.info.id, name: p.info.name, why });
    try {
      const res = await peerFetch(p.info.http, path, { headers, sign: true, signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) {
        void res.body?.cancel();
        return missing(`HTTP ${res.status}`);
      }
      const raw = await res.text();
      if (raw.length > MAX_REPORT_BYTES) return missing("answer too large");
      const parsed = v.safeParse(nodeReportSchema, JSON.parse(raw));
      if (!parsed.success) return missing("not a report");
      // A report speaks for the node that made it, and only the node asked may make it.
      return parsed.output.node.id === p.info.id ? parsed.output : missing(`answered as ${parsed.output.node.id}`);
    } catch (e) {
      const err = e as Error;
      return missing(err.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : err instanceof SyntaxError ? "not JSON" : "unreachable");
    }
  });
  const reports: NodeReport[] = [];
  const unanswered: Unanswered[] = [];
  for (const a of answers) {
    if ("entries" in a) reports.push(a);
    else unanswered.push(a);
  }
  return { reports, unanswered, live: live.length };
}
