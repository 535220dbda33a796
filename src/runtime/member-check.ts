import { randomFillSync } from "node:crypto";
import type { Member, NodeId } from "../membership/types.ts";
import type { EdgeNode } from "./edge-node.ts";
import { checkHealth } from "./http-check.ts";

/**
 * What one member's HTTP port said to a fresh challenge: its own proof of life (`answered`),
 * an answer that proves nothing (another identity, or no valid proof: `unproven`), a refused
 * connection, or nothing in time.
 */
export type HttpVerdict = "answered" | "unproven" | "refused" | "silent";

export interface MemberCheck {
  readonly udp: { readonly answered: boolean; readonly ms?: number };
  readonly http: { readonly result: HttpVerdict; readonly ms: number; readonly answeredAs?: NodeId };
}

/** Does it prove it lives, on either path? */
export const provesLife = (c: MemberCheck): boolean => c.udp.answered || c.http.result === "answered";

/**
 * Ask a member, now, whether it lives: a SWIM ping over UDP and a challenge of its /health over
 * HTTP, at once. Either counts only with the member's own proof of life over a fresh nonce (in
 * open mode: the nonce, and an answer naming its id), as a probe does.
 */
export async function checkMember(node: EdgeNode, m: Readonly<Member>, timeoutMs: number): Promise<MemberCheck> {
  const id = m.info.id;
  const nonce = randomFillSync(new Uint8Array(16));
  const challenge = async () => {
    const t0 = performance.now();
    const answer = await checkHealth(m.info.http, timeoutMs, nonce);
    return { health: answer, ms: Math.round((performance.now() - t0) * 10) / 10 };
  };
  const [udp, { health, ms }] = await Promise.all([node.pinger.ping(id, m.info.gossip, timeoutMs), challenge()]);
  let result: HttpVerdict = health.result;
  if (result === "answered" && (health.id !== id || !node.claims.verifyLiveness(id, nonce, health.proof))) result = "unproven";
  const answeredAs = health.id !== undefined && health.id !== id ? health.id : undefined;
  return {
    udp: udp.answered ? { answered: true, ms: udp.ms } : { answered: false },
    http: { result, ms, ...(answeredAs ? { answeredAs } : {}) },
  };
}
