/**
 * When a webhook delivery is tried again. Pure: the caller passes its random source.
 *
 * Exponential backoff with "equal jitter": the n-th retry waits between half and all of
 * min(cap, base·2^(n-1)), so a receiver that comes back is not hit by every node at once, and no
 * retry comes sooner than half its step. A receiver's Retry-After is honoured up to the cap.
 * Only what may succeed later is retried: no answer, a timeout, 408, 425, 429 and 5xx. Any other
 * answer (a 4xx: the receiver refuses this request) ends the delivery at once.
 */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
}

export const RETRY: RetryPolicy = { baseMs: 500, capMs: 30_000, maxAttempts: 6 };

export type Attempt = { ok: true } | { ok: false; retry: boolean; reason: string; retryAfterMs?: number };

/** An HTTP answer, as an attempt's outcome. */
export function attemptOf(status: number, retryAfter: string | null = null, now = Date.now()): Attempt {
  if (status >= 200 && status < 300) return { ok: true };
  const retry = status === 408 || status === 425 || status === 429 || status >= 500;
  const after = retry ? retryAfterMs(retryAfter, now) : undefined;
  return { ok: false, retry, reason: `HTTP ${status}`, ...(after !== undefined ? { retryAfterMs: after } : {}) };
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(v: string | null, now: number): number | undefined {
  if (v === null || v.trim() === "") return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/** How long to wait after `failed` failed attempts (1 = after the first), or undefined: give up. */
export function nextDelay(failed: number, last: Attempt, random: () => number, p: RetryPolicy = RETRY): number | undefined {
  if (last.ok || !last.retry || failed >= p.maxAttempts) return undefined;
  const step = Math.min(p.capMs, p.baseMs * 2 ** (failed - 1));
  const jittered = step / 2 + random() * (step / 2);
  return Math.round(Math.min(p.capMs, Math.max(jittered, last.retryAfterMs ?? 0)));
}
