/** Small summary statistics for benchmark samples (NaN = the sample timed out). */

export function median(xs: readonly number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function mean(xs: readonly number[]): number {
  const v = xs.filter(Number.isFinite);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;
}

export function min(xs: readonly number[]): number {
  const v = xs.filter(Number.isFinite);
  return v.length ? Math.min(...v) : Number.NaN;
}

export function max(xs: readonly number[]): number {
  const v = xs.filter(Number.isFinite);
  return v.length ? Math.max(...v) : Number.NaN;
}

/** "median (min–max)" with a unit-specific formatter; timeouts are counted separately. */
export function summary(xs: readonly number[], fmt: (x: number) => string): string {
  if (xs.length === 0) return "-";
  const timeouts = xs.filter((x) => !Number.isFinite(x)).length;
  const ok = xs.length - timeouts;
  const base = ok === 0 ? "timeout" : ok === 1 ? fmt(median(xs)) : `${fmt(median(xs))} (${fmt(min(xs))}–${fmt(max(xs))})`;
  return timeouts ? `${base} [${timeouts} timeout]` : base;
}
