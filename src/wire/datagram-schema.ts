/**
 * The datagram schema, checked by hand: every datagram a node receives passes through here, and
 * a validation library's per-call allocations and code size cost an idle node more CPU and memory
 * than the protocol itself (docs/BENCHMARKS.md). The rules are the ones the HTTP edges state
 * with valibot: strict envelope per message type, unknown fields ignored, numbers finite (integers
 * safe), strings bounded and matched, objects not arrays. tests/unit/datagram-schema.test.ts holds
 * the same rules as valibot schemas and checks both agree on generated and mutated datagrams.
 */
import { MAX_INCARNATION } from "../membership/incarnation.ts";
import { tagsProblem } from "../membership/tags.ts";
import { MAX_VERSION } from "./protocol.ts";
import { ADDRESS, NODE_ID } from "./shapes.ts";

export const MAX_UPDATES = 64;
/** An alive proof is 96 bytes; in CA mode the subject's certificate follows (73 more). */
export const MAX_PROOF_BYTES = 192;
/** Update kinds this build knows (0-4); kinds from here up to MAX_VERSION are a newer build's, skipped. */
export const KNOWN_KINDS = 5;

export type WireRange = [number, number];
export type WireUpdate =
  | { k: 0; i: number; id: string; n: string; g: string; h: string; c: number; p?: Uint8Array; r?: WireRange; t?: Record<string, string> }
  | { k: 1; id: string; i: number; f: string }
  | { k: 2; id: string; i: number; f: string }
  | { k: 3; id: string; i: number; p?: Uint8Array }
  | { k: 4; id: string; v: number; b: number; p?: Uint8Array };

/** `v`: absent in datagrams of builds from before versions (version 1). `u`: updates, each still to be checked. */
export type WireMessage =
  | { v?: number; t: 0; s: number; f: string; o: string; n: Uint8Array; u: unknown[] }
  | { v?: number; t: 1; s: number; f: string; n: Uint8Array; p?: Uint8Array; u: unknown[] }
  | { v?: number; t: 2; s: number; f: string; x: string; g: string; h: string; n: Uint8Array; u: unknown[] }
  | { v?: number; t: 3; s: number; f: string; r: boolean }
  | { v?: number; t: 4; f: string; u: unknown[] };

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
/** A number in [0, max] (NaN and the infinities fail the bounds). */
const isNum = (x: unknown, max: number): x is number => typeof x === "number" && x >= 0 && x <= max;
/** A safe integer in [min, max]. */
const isInt = (x: unknown, min: number, max: number): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= min && x <= max;
const isId = (x: unknown): x is string => typeof x === "string" && NODE_ID.test(x);
const isAddress = (x: unknown): x is string => typeof x === "string" && ADDRESS.test(x);
const isInc = (x: unknown): x is number => isInt(x, 0, MAX_INCARNATION);
const isVersion = (x: unknown): x is number => isInt(x, 1, MAX_VERSION);
/** A probe's nonce (16 bytes as sent; a little room either way). */
const isNonce = (x: unknown): x is Uint8Array => x instanceof Uint8Array && x.byteLength >= 8 && x.byteLength <= 32;
/** Absent, or a proof of bounded size. */
const optProof = (x: unknown): boolean => x === undefined || (x instanceof Uint8Array && x.byteLength <= MAX_PROOF_BYTES);
const optVersion = (x: unknown): boolean => x === undefined || isVersion(x);
const isUpdates = (x: unknown): x is unknown[] => Array.isArray(x) && x.length <= MAX_UPDATES;

function optRange(x: unknown): boolean {
  return x === undefined || (Array.isArray(x) && x.length === 2 && isVersion(x[0]) && isVersion(x[1]) && x[0] <= x[1]);
}

/** A plain object of strings within the tag limits (a map, not an array, bytes or an extension). */
function optTags(x: unknown): boolean {
  if (x === undefined) return true;
  if (!isObj(x)) return false;
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in x) if (typeof x[k] !== "string") return false;
  return tagsProblem(x as Record<string, string>) === undefined;
}

/** One piggybacked update of a kind this build knows, or undefined if it fails its schema. */
export function checkUpdate(x: unknown): WireUpdate | undefined {
  if (!isObj(x)) return undefined;
  switch (x.k) {
    case 0:
      return isInc(x.i) &&
        isId(x.id) &&
        typeof x.n === "string" &&
        x.n.length >= 1 &&
        x.n.length <= 128 &&
        isAddress(x.g) &&
        isAddress(x.h) &&
        isNum(x.c, 1e9) &&
        optProof(x.p) &&
        optRange(x.r) &&
        optTags(x.t)
        ? (x as WireUpdate)
        : undefined;
    case 1:
    case 2:
      return isId(x.id) && isInc(x.i) && isId(x.f) ? (x as WireUpdate) : undefined;
    case 3:
      return isId(x.id) && isInc(x.i) && optProof(x.p) ? (x as WireUpdate) : undefined;
    case 4:
      return isId(x.id) && isInt(x.v, 0, Number.MAX_SAFE_INTEGER) && isNum(x.b, 1e12) && optProof(x.p) ? (x as WireUpdate) : undefined;
    default:
      return undefined;
  }
}

/** The envelope of a datagram (its updates unchecked), or undefined if it fails its schema. */
export function checkMessage(x: unknown): WireMessage | undefined {
  if (!isObj(x) || !optVersion(x.v)) return undefined;
  const seq = () => isInt(x.s, 0, 0xffffffff);
  switch (x.t) {
    case 0:
      return seq() && isId(x.f) && isId(x.o) && isNonce(x.n) && isUpdates(x.u) ? (x as WireMessage) : undefined;
    case 1:
      return seq() && isId(x.f) && isNonce(x.n) && optProof(x.p) && isUpdates(x.u) ? (x as WireMessage) : undefined;
    case 2:
      return seq() && isId(x.f) && isId(x.x) && isAddress(x.g) && isAddress(x.h) && isNonce(x.n) && isUpdates(x.u) ? (x as WireMessage) : undefined;
    case 3:
      return seq() && isId(x.f) && typeof x.r === "boolean" ? (x as WireMessage) : undefined;
    case 4:
      return isId(x.f) && isUpdates(x.u) ? (x as WireMessage) : undefined;
    default:
      return undefined;
  }
}
