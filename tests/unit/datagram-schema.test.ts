/**
 * The hand-written datagram checks (src/wire/datagram-schema.ts) against the same rules written
 * as schemas, as the codec stated them before the checks were written by hand: both must accept and
 * refuse exactly the same envelopes and updates, over valid datagrams and thousands of mutations
 * of them (wrong types, out-of-range numbers, missing and extra fields, odd containers).
 */
import { describe, expect, test } from "bun:test";
import { Decoder, encode } from "@msgpack/msgpack";
import * as v from "valibot";
import { MAX_INCARNATION } from "../../src/membership/incarnation.ts";
import { decodeMessage } from "../../src/wire/codec.ts";
import { checkMessage, checkUpdate } from "../../src/wire/datagram-schema.ts";
import { address, nodeId as id } from "../../src/wire/fields.ts";
import { MAX_VERSION } from "../../src/wire/protocol.ts";
import { tagsSchema } from "../../src/wire/sync-schema.ts";

// The reference: the codec's rules as valibot schemas, built from the same fields as the HTTP
// edges' schemas (wire/fields.ts, the tags of wire/sync-schema.ts).
const uint = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER));
const inc = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(MAX_INCARNATION));
const seq = v.pipe(v.number(), v.safeInteger(), v.minValue(0), v.maxValue(0xffffffff));
const proof = v.optional(
  v.pipe(
    v.instance(Uint8Array),
    v.check((b) => b.byteLength <= 192),
  ),
);
const nonce = v.custom<Uint8Array>((b) => b instanceof Uint8Array && b.byteLength >= 8 && b.byteLength <= 32);
const version = v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(MAX_VERSION));
const range = v.pipe(
  v.strictTuple([version, version]),
  v.check(([lo, hi]) => lo <= hi),
);
const wireUpdate = v.variant("k", [
  v.object({
    k: v.literal(0),
    i: inc,
    id,
    n: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
    g: address,
    h: address,
    c: v.pipe(v.number(), v.minValue(0), v.maxValue(1e9)),
    p: proof,
    r: v.optional(range),
    t: v.optional(tagsSchema),
  }),
  v.object({ k: v.literal(1), id, i: inc, f: id }),
  v.object({ k: v.literal(2), id, i: inc, f: id }),
  v.object({ k: v.literal(3), id, i: inc, p: proof }),
  v.object({ k: v.literal(4), id, v: uint, b: v.pipe(v.number(), v.minValue(0), v.maxValue(1e12)), p: proof }),
]);
const updates = v.pipe(v.array(v.unknown()), v.maxLength(64));
const wireMessage = v.variant("t", [
  v.object({ v: v.optional(version), t: v.literal(0), s: seq, f: id, o: id, n: nonce, u: updates }),
  v.object({ v: v.optional(version), t: v.literal(1), s: seq, f: id, n: nonce, p: proof, u: updates }),
  v.object({ v: v.optional(version), t: v.literal(2), s: seq, f: id, x: id, g: address, h: address, n: nonce, u: updates }),
  v.object({ v: v.optional(version), t: v.literal(3), s: seq, f: id, r: v.boolean() }),
  v.object({ v: v.optional(version), t: v.literal(4), f: id, u: updates }),
]);
const accepts = (schema: v.GenericSchema, x: unknown): boolean => v.safeParse(schema, x).success;

/** A small seeded generator: the same cases on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

const bytes = (n: number) => new Uint8Array(n).fill(3);
/** Values that sit on or across some rule's edge. */
// biome-ignore format: a table of values reads better in rows
const ODD: unknown[] = [
  0, -0, 1, -1, 1.5, 255, 256, 0xffffffff, 0xffffffff + 1, MAX_INCARNATION, MAX_INCARNATION + 1, 2 ** 53, Number.MAX_SAFE_INTEGER, 1e9, 1e9 + 0.5, 1e12, 1e12 + 1,
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, "", "a1", "x".repeat(64), "x".repeat(65), "x".repeat(128), "x".repeat(129), "bad id",
  "10.0.0.1:5000", "[::1]:5000", "host:123456", "no-port", null, true, false, [], [1, 1], [1, 2], [2, 1], [0, 1], [1, 256], [1, 2, 3], {}, { a: "b" },
  { "bad key": "v" }, { a: 1 }, bytes(0), bytes(7), bytes(8), bytes(16), bytes(32), bytes(33), bytes(128), bytes(129), bytes(192), bytes(193),
];

function validUpdate(r: ReturnType<typeof rng>): Record<string, unknown> {
  switch (r.int(5)) {
    case 0:
      return { k: 0, i: r.int(1e6), id: "n1", n: "edge", g: "10.0.0.1:5000", h: "10.0.0.1:5001", c: 800, p: bytes(64), r: [1, 1], t: { zone: "a" } };
    case 1:
      return { k: 1, id: "n1", i: 3, f: "n2" };
    case 2:
      return { k: 2, id: "n1", i: 3, f: "n2" };
    case 3:
      return { k: 3, id: "n1", i: 3, p: bytes(64) };
    default:
      return { k: 4, id: "n1", v: 1_700_000_000_000, b: 12.5, p: bytes(64) };
  }
}

function validMessage(r: ReturnType<typeof rng>): Record<string, unknown> {
  const u = [validUpdate(r)];
  switch (r.int(5)) {
    case 0:
      return { v: 1, t: 0, s: 7, f: "a1", o: "b2", n: bytes(16), u };
    case 1:
      return { v: 1, t: 1, s: 7, f: "a1", n: bytes(16), p: bytes(64), u };
    case 2:
      return { v: 1, t: 2, s: 7, f: "a1", x: "c3", g: "10.0.0.3:5000", h: "10.0.0.3:5000", n: bytes(16), u };
    case 3:
      return { v: 1, t: 3, s: 7, f: "a1", r: true };
    default:
      return { t: 4, f: "a1", u };
  }
}

/** One to three changes: a field set to an odd value, removed, or an unknown field added. */
function mutate(o: Record<string, unknown>, r: ReturnType<typeof rng>): Record<string, unknown> {
  const m = { ...o };
  for (let n = 1 + r.int(3); n > 0; n--) {
    const keys = Object.keys(m);
    const what = r.int(10);
    if (what < 7 && keys.length > 0) m[r.pick(keys)] = r.pick(ODD);
    else if (what < 9 && keys.length > 0) delete m[r.pick(keys)];
    else m[r.pick(["zz", "later", "q"])] = r.pick(ODD);
  }
  return m;
}

// What the codec's decoder hands the checks: msgpack's own reading of the bytes.
const decoder = new Decoder();
const roundTrip = (x: unknown): unknown => decoder.decode(encode(x));

/**
 * 20 000 values, one in ten valid and the rest mutated, each judged by the hand-written check and
 * by the schema: they must agree on every one. Returns how many were accepted.
 */
function agreeOnMutations(
  seed: number,
  valid: (r: ReturnType<typeof rng>) => Record<string, unknown>,
  check: (x: unknown) => unknown,
  schema: v.GenericSchema,
  what: string,
): number {
  const r = rng(seed);
  let accepted = 0;
  for (let i = 0; i < 20_000; i++) {
    const x = roundTrip(i % 10 === 0 ? valid(r) : mutate(valid(r), r));
    const ours = check(x) !== undefined;
    if (ours !== accepts(schema, x)) throw new Error(`disagree on ${what} ${JSON.stringify(x)}: ours ${ours}`);
    if (ours) accepted++;
  }
  return accepted;
}

describe("hand-written datagram checks agree with the schema rules", () => {
  test("updates: valid ones and 20 000 mutations", () => {
    const accepted = agreeOnMutations(1, validUpdate, checkUpdate, wireUpdate, "update");
    // Both outcomes were exercised.
    expect(accepted).toBeGreaterThan(2000);
    expect(accepted).toBeLessThan(18_000);
  });

  test("envelopes: valid ones and 20 000 mutations", () => {
    const accepted = agreeOnMutations(2, validMessage, checkMessage, wireMessage, "datagram");
    expect(accepted).toBeGreaterThan(2000);
    expect(accepted).toBeLessThan(18_000);
  });

  test("whole values of the wrong kind", () => {
    for (const x of [...ODD, "ping", [validMessage(rng(3))], new Map()].map((x) => (x instanceof Map ? x : roundTrip(x)))) {
      expect(checkMessage(x) !== undefined).toBe(accepts(wireMessage, x));
      expect(checkUpdate(x) !== undefined).toBe(accepts(wireUpdate, x));
    }
  });
});

describe("version 2 (JSON) reads what version 1 (msgpack) reads", () => {
  // A datagram in its JSON form: byte fields as base64, values JSON has no form for as strings.
  const asJson = (x: Record<string, unknown>): Uint8Array =>
    new TextEncoder().encode(
      JSON.stringify({ ...x, v: 2 }, (_k, val) => (val instanceof Uint8Array ? val.toBase64() : typeof val === "bigint" ? String(val) : val)),
    );

  test("valid datagrams decode alike in both forms; 20 000 mutations in JSON never throw and are kept or counted", () => {
    const r = rng(4);
    const reasons = new Set(["malformed", "schema", "version", "oversized"]);
    let kept = 0;
    for (let i = 0; i < 20_000; i++) {
      const valid = i % 10 === 0;
      const x = valid ? validMessage(r) : mutate(validMessage(r), r);
      const fromJson = decodeMessage(asJson(x), { min: 1, max: 2 });
      if (valid) expect(fromJson).toEqual(decodeMessage(encode({ ...x, v: 2 }), { min: 1, max: 2 }));
      if (fromJson.ok) kept++;
      else expect(reasons.has(fromJson.reason)).toBe(true);
    }
    expect(kept).toBeGreaterThan(2000);
  });
});
