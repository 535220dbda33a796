/**
 * The fields every valibot schema at the HTTP edges shares, defined once from wire/shapes.ts: a
 * node id, a node address, a packet id, base64 and hex strings. The /sync and /join bodies, the
 * node's peer memory and the HTTP routes check these the same way the datagram checks do.
 */
import * as v from "valibot";
import { ADDRESS, BASE64, NODE_ID, PACKET_ID } from "./shapes.ts";

export { ADDRESS, NODE_ID, PACKET_ID } from "./shapes.ts";

export const nodeId = v.pipe(v.string(), v.regex(NODE_ID));
export const address = v.pipe(v.string(), v.regex(ADDRESS));
export const packetId = v.pipe(v.string(), v.regex(PACKET_ID));
/** Base64 of at most `max` characters. */
export const base64 = (max: number) => v.pipe(v.string(), v.maxLength(max), v.regex(BASE64));
/** Exactly `n` lower-case hex digits. */
export const hex = (n: number) => v.pipe(v.string(), v.regex(new RegExp(`^[0-9a-f]{${n}}$`)));
/** A whole number from 0 up to 2^53 - 1. */
export const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

/**
 * `schema`, an object, refusing a JSON list: valibot's objects take an array as an object keyed
 * "0", "1"..., and a list where an object belongs is malformed input.
 */
export const notList = <S extends v.GenericSchema>(schema: S) =>
  v.pipe(
    v.unknown(),
    v.check((x) => !Array.isArray(x), "expected an object, not a list"),
    schema,
  );

const isPlainObject = (x: unknown): boolean => {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
};

/** Keys valibot's record leaves out (its guard against prototype pollution): refused, not dropped. */
const RESERVED_KEYS = ["__proto__", "prototype", "constructor"];
const reservedKey = (x: unknown): string | undefined => (typeof x === "object" && x !== null ? RESERVED_KEYS.find((k) => Object.hasOwn(x, k)) : undefined);

/**
 * A record of `key` to `value` in a plain object (not a list, nor a byte array from msgpack).
 * A reserved key is refused with its name rather than silently left out, so what is checked (and
 * signed, for tags) is what arrived.
 */
export const record = <K extends v.GenericSchema<string, string>, V extends v.GenericSchema>(key: K, value: V) =>
  v.pipe(
    v.unknown(),
    v.check(isPlainObject, (issue) => `expected an object, got ${typeOf(issue.input)}`),
    v.check(
      (x) => reservedKey(x) === undefined,
      (issue) => `reserved key "${reservedKey(issue.input)}"`,
    ),
    v.record(key, value),
  );

/**
 * A failed check as one line: the field's path and what was wrong. The offending value is not
 * echoed back (it may be long, or a secret).
 */
export function issueText(issues: readonly v.BaseIssue<unknown>[]): string {
  const issue = issues[0];
  if (!issue) return "schema mismatch";
  const path = v.getDotPath(issue);
  let what: string;
  if (issue.kind === "schema" && issue.expected === "never") what = "unknown field";
  else if (issue.kind === "schema" && issue.input === undefined && path) what = "missing";
  else if (issue.kind === "schema") what = `expected ${issue.expected}, got ${typeOf(issue.input)}`;
  else if (issue.type === "check") what = issue.message;
  else if (issue.expected === null) what = `expected ${issue.type.replaceAll("_", " ")}, got ${issue.received}`;
  else what = `${issue.type.replaceAll("_", " ")}: expected ${issue.expected}`;
  return path ? `${path}: ${what}` : what;
}

const typeOf = (x: unknown): string =>
  x === null ? "null" : Array.isArray(x) ? "a list" : typeof x === "object" ? (x.constructor?.name ?? "object") : typeof x;
