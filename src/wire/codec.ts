import type { Message, ProtocolRange, Tags, Update } from "../membership/types.ts";
import { checkMessage, checkUpdate, KNOWN_KINDS, MAX_PROOF_BYTES, MAX_UPDATES, type WireMessage, type WireUpdate } from "./datagram-schema.ts";
import { MAX_VERSION, PROTOCOL, speaks } from "./protocol.ts";

/**
 * The datagram format: maps with one-letter keys (bytes matter at one packet per probe), decoded
 * with hard size limits and checked against the schema (wire/datagram-schema.ts). Nothing that
 * fails here reaches the membership core; the caller counts the drop by its reason.
 * Every datagram says its protocol version (`v`, wire/protocol.ts); within a version, fields this
 * build does not know are ignored and update kinds it does not know are skipped (counted), so a
 * newer node's optional additions never cost a datagram. Piggybacked updates follow the
 * member-table rule: one that fails its schema is dropped and counted, the datagram and its
 * other updates are kept. The envelope itself stays strict.
 *
 * Version 1 is msgpack. Version 2 is JSON text, the runtime's native parser and printer: in
 * the node's lean JIT the msgpack library took 44–62 µs to encode and 58 µs to decode a gossip
 * datagram against 3 and 8 µs in JSON (`bench/codec.ts`), and 200 nodes forming on two cores
 * spent a quarter of their CPU in it. In JSON, byte fields are base64 (unpadded), an empty
 * update list is left out, and an alive claim leaves out its gossip and HTTP addresses when they
 * equal its name (the usual case): gossip is no larger than in msgpack, a bare probe a third
 * larger. The first byte tells the formats apart.
 */

/** Larger datagrams are dropped before decoding. */
export const MAX_DATAGRAM_BYTES = 2048;
/** The first version written as JSON. */
export const JSON_VERSION = 2;
const OPEN_BRACE = 0x7b;

/** What encoding writes: a wire object, with byte fields as bytes (msgpack) or base64 (JSON). */
type Out = Record<string, unknown>;

/** A byte field as the format carries it. */
const bin = (b: Uint8Array, json: boolean): Uint8Array | string => (json ? b.toBase64({ omitPadding: true }) : b);

function withProof(w: Out, p: Uint8Array | undefined, json: boolean): Out {
  if (p) w.p = bin(p, json);
  return w;
}

function withProofField<T extends object>(u: T, p: Uint8Array | undefined): T {
  return p ? { ...u, proof: p } : u;
}

/** In JSON (`json`), an alive claim's addresses equal to its name are left out. */
function toWireUpdate(u: Update, json: boolean): Out {
  switch (u.kind) {
    case "alive": {
      const { info } = u;
      const w: Out = { k: 0, i: u.incarnation, id: info.id, n: info.name };
      if (!json || info.gossip !== info.name) w.g = info.gossip;
      if (!json || info.http !== info.name) w.h = info.http;
      w.c = info.capacity;
      if (info.protocol) w.r = [info.protocol.min, info.protocol.max];
      if (info.tags && Object.keys(info.tags).length > 0) w.t = info.tags;
      return withProof(w, u.proof, json);
    }
    case "suspect":
      return { k: 1, id: u.id, i: u.incarnation, f: u.from };
    case "dead":
      return { k: 2, id: u.id, i: u.incarnation, f: u.from };
    case "left":
      return withProof({ k: 3, id: u.id, i: u.incarnation }, u.proof, json);
    case "load":
      return withProof({ k: 4, id: u.id, v: u.load.version, b: u.load.backlog }, u.proof, json);
  }
}

function toWire(m: Message, v: number): Out {
  const json = v >= JSON_VERSION;
  // JSON leaves out an empty update list (most probes and acks carry none).
  const ups = (us: readonly Update[]) => (json && us.length === 0 ? undefined : us.map((u) => toWireUpdate(u, json)));
  switch (m.type) {
    case "ping":
      return { v, t: 0, s: m.seq, f: m.from, o: m.to, n: bin(m.nonce, json), u: ups(m.updates) };
    case "ack":
      return withProof({ v, t: 1, s: m.seq, f: m.from, n: bin(m.nonce, json), u: ups(m.updates) }, m.proof, json);
    case "ping-req":
      return { v, t: 2, s: m.seq, f: m.from, x: m.target, g: m.targetGossip, h: m.targetHttp, n: bin(m.nonce, json), u: ups(m.updates) };
    case "nack":
      return { v, t: 3, s: m.seq, f: m.from, r: m.refused };
    case "gossip":
      return { v, t: 4, f: m.from, u: ups(m.updates) };
  }
}

function fromWireUpdate(w: WireUpdate): Update {
  switch (w.k) {
    case 0: {
      const info = {
        id: w.id,
        name: w.n,
        gossip: w.g,
        http: w.h,
        capacity: w.c,
        ...(w.t && Object.keys(w.t).length > 0 ? { tags: w.t as Tags } : {}),
        ...(w.r ? { protocol: { min: w.r[0], max: w.r[1] } } : {}),
      };
      return withProofField({ kind: "alive", incarnation: w.i, info }, w.p);
    }
    case 1:
      return { kind: "suspect", id: w.id, incarnation: w.i, from: w.f };
    case 2:
      return { kind: "dead", id: w.id, incarnation: w.i, from: w.f };
    case 3:
      return withProofField({ kind: "left", id: w.id, incarnation: w.i }, w.p);
    case 4:
      return withProofField({ kind: "load", id: w.id, load: { version: w.v, backlog: w.b } }, w.p);
  }
}

function fromWire(w: WireMessage): { message: Message; droppedUpdates: number; unknownUpdates: number } {
  let droppedUpdates = 0;
  let unknownUpdates = 0;
  const ups = (raw: unknown[]): Update[] => {
    const kept: Update[] = [];
    for (const r of raw) {
      const k = (r as { k?: unknown } | null)?.k;
      if (typeof k === "number" && Number.isInteger(k) && k >= KNOWN_KINDS && k <= MAX_VERSION) {
        unknownUpdates++;
        continue;
      }
      const checked = checkUpdate(r);
      if (checked) kept.push(fromWireUpdate(checked));
      else droppedUpdates++;
    }
    return kept;
  };
  const message = ((): Message => {
    switch (w.t) {
      case 0:
        return { type: "ping", seq: w.s, from: w.f, to: w.o, nonce: w.n, updates: ups(w.u) };
      case 1:
        return withProofField({ type: "ack", seq: w.s, from: w.f, nonce: w.n, updates: ups(w.u) }, w.p);
      case 2:
        return { type: "ping-req", seq: w.s, from: w.f, target: w.x, targetGossip: w.g, targetHttp: w.h, nonce: w.n, updates: ups(w.u) };
      case 3:
        return { type: "nack", seq: w.s, from: w.f, refused: w.r };
      case 4:
        return { type: "gossip", from: w.f, updates: ups(w.u) };
    }
  })();
  return { message, droppedUpdates, unknownUpdates };
}

/** msgpack, for version-1 peers only (builds from before JSON): loaded when one is first met. */
let msgpack: { readonly encoder: import("@msgpack/msgpack").Encoder; readonly decoder: import("@msgpack/msgpack").Decoder } | undefined;
function v1() {
  if (!msgpack) {
    const { Decoder, Encoder } = require("@msgpack/msgpack") as typeof import("@msgpack/msgpack");
    msgpack = {
      encoder: new Encoder(),
      decoder: new Decoder({
        maxStrLength: 255,
        maxBinLength: MAX_PROOF_BYTES,
        maxArrayLength: MAX_UPDATES,
        // An alive update has 10 fields, tags up to 16 (membership/tags.ts).
        maxMapLength: 16,
        maxExtLength: 0,
      }),
    };
  }
  return msgpack;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/**
 * A datagram in protocol `version`. `extras` (tests of a future version only): fields and
 * updates this build does not know, added as a newer build would add them.
 */
export function encodeMessage(m: Message, version = PROTOCOL.max, extras?: WireExtras): Uint8Array {
  let w = toWire(m, version);
  if (extras) {
    w = { ...w, ...extras.fields };
    if (Array.isArray(w.u) && extras.updates) w.u = [...w.u, ...extras.updates];
  }
  return version >= JSON_VERSION ? utf8.encode(JSON.stringify(w)) : v1().encoder.encode(w);
}

export interface WireExtras {
  readonly fields?: Record<string, unknown>;
  readonly updates?: readonly Record<string, unknown>[];
}

/**
 * Encoded size of one update: what it costs in a datagram's budget, JSON's separating comma
 * included. Once this node has met a version-1 peer, the larger of its two forms (the cluster
 * writes msgpack while one is alive); updates queued just before that may overshoot the budget
 * by a few bytes each, well within what a receiver reads (MAX_DATAGRAM_BYTES).
 */
export function encodedSize(u: Update): number {
  const json = utf8.encode(JSON.stringify(toWireUpdate(u, true))).byteLength + 1;
  return msgpack ? Math.max(json, msgpack.encoder.encode(toWireUpdate(u, false)).byteLength) : json;
}

export type DropReason = "oversized" | "malformed" | "schema" | "version" | "unauthenticated" | "replayed";
/**
 * A decoded datagram: its version, how many of its updates were dropped by the per-update rule,
 * and how many were of kinds this build does not know (skipped).
 */
export type Decoded =
  | { readonly ok: true; readonly message: Message; readonly version: number; readonly droppedUpdates: number; readonly unknownUpdates: number }
  | { readonly ok: false; readonly reason: DropReason };

/** `speaking`: the versions this node reads; a datagram in another is dropped as `version`. */
export function decodeMessage(bytes: Uint8Array, speaking: ProtocolRange = PROTOCOL): Decoded {
  if (bytes.byteLength > MAX_DATAGRAM_BYTES) return { ok: false, reason: "oversized" };
  let raw: unknown;
  try {
    raw = bytes[0] === OPEN_BRACE ? fromJson(JSON.parse(utf8Strict.decode(bytes))) : v1().decoder.decode(bytes);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const checked = checkMessage(raw);
  if (!checked) return { ok: false, reason: "schema" };
  const v = checked.v ?? 1;
  if (!speaks(speaking, v)) return { ok: false, reason: "version" };
  return { ok: true, version: v, ...fromWire(checked) };
}

/** Base64 no longer than a proof's (the largest byte field) needs. */
const MAX_BASE64 = Math.ceil(MAX_PROOF_BYTES / 3) * 4;

/** A JSON byte field as bytes; anything else stays as it is, for the schema to refuse. */
function bytesOf(x: unknown): unknown {
  if (typeof x !== "string" || x.length > MAX_BASE64) return x;
  try {
    return Uint8Array.fromBase64(x);
  } catch {
    return x;
  }
}

/**
 * A parsed JSON datagram in the shape the schema checks: byte fields as bytes, an alive claim's
 * left-out addresses filled in from its name. JSON before version 2 is no datagram of ours
 * (undefined: a schema drop).
 */
function fromJson(raw: unknown): unknown {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const w = raw as Record<string, unknown>;
  if (typeof w.v !== "number" || w.v < JSON_VERSION) return undefined;
  if ("n" in w) w.n = bytesOf(w.n);
  if ("p" in w) w.p = bytesOf(w.p);
  w.u ??= [];
  if (Array.isArray(w.u)) {
    for (const u of w.u as unknown[]) {
      if (typeof u !== "object" || u === null || Array.isArray(u)) continue;
      const x = u as Record<string, unknown>;
      if ("p" in x) x.p = bytesOf(x.p);
      if (x.k === 0) {
        x.g ??= x.n;
        x.h ??= x.n;
      }
    }
  }
  return w;
}
