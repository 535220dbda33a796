/**
 * One webhook delivery: a JSON POST of a batch, retried with backoff (backoff.ts) until it is
 * accepted, refused for good, or out of attempts, each attempt signed afresh when a cluster key
 * is set (signature.ts). The body:
 *
 *   {"id": "<delivery id, the same on every attempt>", "node": {"id", "name", "address"},
 *    "events": [{"event", "at", "member": {"id", "name", "address", "state", "incarnation", "tags"}, "by"?, "reason"?}],
 *    "dropped": <events this webhook lost since its last delivery>}
 */
import { randomUUID } from "node:crypto";
import { type Attempt, attemptOf, nextDelay, RETRY, type RetryPolicy } from "./backoff.ts";
import type { HookEvent } from "./hook-event.ts";
import { SIGNATURE_HEADER, signWebhook, type WebhookKey } from "./signature.ts";

export const DELIVERY_HEADER = "x-dsef-delivery";

export interface WebhookTarget {
  readonly url: string;
  readonly timeoutMs: number;
  readonly self: { id: string; name: string; address: string };
  /** The key deliveries are signed with now; none in open mode. */
  readonly signingKey: () => WebhookKey | undefined;
  readonly retry?: RetryPolicy;
  readonly random?: () => number;
  /** Aborted when the node stops. */
  readonly signal: AbortSignal;
  /** Told of every attempt. */
  readonly attempted: (a: Attempt, attempt: number) => void;
}

/** True once the receiver took it; false when given up (out of attempts, refused, or the node stopped). */
export async function deliverWebhook(t: WebhookTarget, events: readonly HookEvent[], dropped: number): Promise<boolean> {
  const id = randomUUID();
  const body = JSON.stringify({ id, node: t.self, events, dropped });
  const policy = t.retry ?? RETRY;
  for (let attempt = 1; ; attempt++) {
    if (t.signal.aborted) return false;
    const a = await postOnce(t, id, body);
    t.attempted(a, attempt);
    const wait = nextDelay(attempt, a, t.random ?? Math.random, policy);
    if (a.ok) return true;
    if (wait === undefined) return false;
    if (!(await sleep(wait, t.signal))) return false;
  }
}

async function postOnce(t: WebhookTarget, id: string, body: string): Promise<Attempt> {
  const key = t.signingKey();
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "dsef-webhook", [DELIVERY_HEADER]: id };
  if (key) headers[SIGNATURE_HEADER] = signWebhook(key, Date.now(), body);
  try {
    const res = await fetch(t.url, {
      method: "POST",
      body,
      headers,
      // A redirect would turn the POST into a GET elsewhere: an answer like any other.
      redirect: "manual",
      signal: AbortSignal.any([AbortSignal.timeout(t.timeoutMs), t.signal]),
    });
    void res.body?.cancel().catch(() => {});
    return attemptOf(res.status, res.headers.get("retry-after"));
  } catch (e) {
    const err = e as Error;
    return { ok: false, retry: true, reason: err.name === "TimeoutError" ? "timeout" : "network" };
  }
}

/** Wait, unless the node stops first (false). */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", onAbort);
  });
}
