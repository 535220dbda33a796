/** Value parsers for flags and environment variables; each throws a one-line message. */

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new Error(`not a duration: "${s}" (use 500ms, 1s, 2m or plain milliseconds)`);
  const n = Number(m[1]);
  return Math.round(m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n);
}

export function parseInteger(s: string, min: number, max: number): number {
  if (!/^\d+$/.test(s.trim())) throw new Error(`not a whole number: "${s}"`);
  const n = Number(s);
  if (n < min || n > max) throw new Error(`${n} is out of range ${min}..${max}`);
  return n;
}

export function parsePositive(s: string, max: number): number {
  const n = Number(s);
  if (!Number.isFinite(n) || s.trim() === "" || n <= 0 || n > max) throw new Error(`not a number in (0, ${max}]: "${s}"`);
  return n;
}

export function parseChoice<T extends string>(s: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(s)) throw new Error(`"${s}" is not one of ${choices.join(", ")}`);
  return s as T;
}

/** A comma-separated list, trimmed, without empty entries. */
export function splitList(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
