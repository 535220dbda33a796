/**
 * `dsef reachability`: this node asks every member, now, over both paths the protocol uses: a
 * SWIM ping (UDP) and a /health challenge (HTTP), each answered only with the member's own proof
 * of life. What it finds is reported, never acted on: the failure detector keeps its own counsel.
 */
import type { MemberState, NodeId } from "../membership/types.ts";
import type { EdgeNode } from "./edge-node.ts";
import { fanOut } from "./fan-out.ts";
import { checkMember, type HttpVerdict } from "./member-check.ts";

export interface ReachRow {
  readonly id: NodeId;
  readonly name: string;
  readonly state: MemberState;
  readonly gossip: string;
  readonly http: string;
  readonly udp: { readonly answered: boolean; readonly ms?: number };
  readonly http_check: { readonly result: HttpVerdict; readonly ms: number; readonly answered_as?: NodeId };
}

/** Every member but this node and those that left (nothing is expected of them). */
export async function reachability(node: EdgeNode, timeoutMs: number): Promise<ReachRow[]> {
  const self = node.swim.self.id;
  const members = node.members().filter((m) => m.info.id !== self && m.state !== "left");
  return fanOut(members, async (m): Promise<ReachRow> => {
    const c = await checkMember(node, m, timeoutMs);
    return {
      id: m.info.id,
      name: m.info.name,
      state: m.state,
      gossip: m.info.gossip,
      http: m.info.http,
      udp: c.udp,
      http_check: { result: c.http.result, ms: c.http.ms, ...(c.http.answeredAs ? { answered_as: c.http.answeredAs } : {}) },
    };
  });
}
