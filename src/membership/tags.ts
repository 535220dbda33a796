/**
 * Operator labels on a node (`--tag zone=a`), carried in its signed alive claim. Bounded so a
 * claim still fits a datagram beside its proof: at most 16 tags, keys of 1-32 characters
 * [A-Za-z0-9_.-], values of 0-64 printable characters but the comma (lists of tags are
 * comma-separated), 512 bytes in all.
 */
import type { Tags } from "./types.ts";

export const MAX_TAGS = 16;
export const MAX_TAG_BYTES = 512;
/** Not __proto__, prototype or constructor: JSON tools drop or misread those as object keys. */
export const TAG_KEY = /^(?!(?:__proto__|prototype|constructor)$)[A-Za-z0-9_.-]{1,32}$/;
export const TAG_VALUE = /^[\x20-\x2b\x2d-\x7e]{0,64}$/;

/** Why `tags` cannot be announced, or undefined when they can. */
export function tagsProblem(tags: Tags): string | undefined {
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) return `at most ${MAX_TAGS} tags`;
  let bytes = 0;
  for (const [k, v] of entries) {
    if (!TAG_KEY.test(k)) return `tag key "${k.slice(0, 40)}": 1-32 characters of A-Z a-z 0-9 _ . - (not __proto__, prototype or constructor)`;
    if (typeof v !== "string" || !TAG_VALUE.test(v)) return `tag ${k}: the value must be 0-64 printable ASCII characters, no comma`;
    bytes += k.length + v.length;
  }
  return bytes > MAX_TAG_BYTES ? `tags take ${bytes} bytes; at most ${MAX_TAG_BYTES}` : undefined;
}

/** "key=value" (as --tag and `dsef tags set` take it). */
export function parseTag(s: string): [string, string] {
  const eq = s.indexOf("=");
  if (eq <= 0) throw new Error(`"${s.slice(0, 80)}": expected key=value`);
  const k = s.slice(0, eq);
  const v = s.slice(eq + 1);
  const problem = tagsProblem({ [k]: v });
  if (problem) throw new Error(problem);
  return [k, v];
}

/** "k=v,k=v" (a flag given several times, or its variable): the tags, checked as a whole. */
export function parseTagList(s: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const item of s.split(/[\n,]/)) {
    const t = item.trim();
    if (!t) continue;
    const [k, v] = parseTag(t);
    tags[k] = v;
  }
  const problem = tagsProblem(tags);
  if (problem) throw new Error(problem);
  return tags;
}

/** Sorted by key: the one order tags are signed and compared in. */
export function sortedTags(tags: Tags | undefined): [string, string][] {
  return Object.entries(tags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Does `tags` hold every key=value of `want`? */
export function hasTags(tags: Tags | undefined, want: Tags): boolean {
  for (const [k, v] of Object.entries(want)) if (tags?.[k] !== v) return false;
  return true;
}
