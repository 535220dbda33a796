/**
 * Power-of-two-choices weighted by capacity: draw two members with probability proportional to
 * their capacity and keep the one with less queued work (in seconds). With equal loads this is
 * exactly capacity-proportional (the first draw wins ties); with unequal loads it steers away
 * from the busier one without herding everyone onto the single least-loaded node.
 */
export interface Candidate {
  readonly id: string;
  /** "ip:port" of its HTTP API. */
  readonly http: string;
  /** Promised capacity, units per second. */
  readonly capacity: number;
  /** Estimated seconds of queued work (backlog / capacity). */
  readonly ratio: number;
  /** With --prefer-tag: does it carry those tags (same site)? Absent: no preference. */
  readonly preferred?: boolean;
}

/** One capacity-weighted draw; undefined when there is nothing to draw from. */
export function weightedDraw<T extends { capacity: number }>(items: readonly T[], random: () => number): T | undefined {
  let total = 0;
  for (const c of items) total += c.capacity;
  if (!(total > 0)) return undefined;
  let r = random() * total;
  for (const c of items) {
    r -= c.capacity;
    if (r < 0) return c;
  }
  return items[items.length - 1];
}

/** The better of two capacity-weighted draws (with replacement: ties keep the first). */
export function pickTwoChoices(candidates: readonly Candidate[], random: () => number): Candidate | undefined {
  const a = weightedDraw(candidates, random);
  const b = weightedDraw(candidates, random);
  if (!a || !b) return a ?? b;
  return b.ratio < a.ratio ? b : a;
}

/** Up to `n` distinct candidates, each chosen by two choices among those not yet chosen. */
export function rankCandidates(candidates: readonly Candidate[], n: number, random: () => number): Candidate[] {
  const out: Candidate[] = [];
  let rest = candidates;
  while (out.length < n && rest.length > 0) {
    const c = pickTwoChoices(rest, random)!;
    out.push(c);
    rest = rest.filter((x) => x !== c);
  }
  return out;
}
