import { Decoder, Encoder } from "@msgpack/msgpack";
import type { Message, ProtocolRange, Tags, Update } from "../membership/types.ts";
import { checkMessage, checkUpdate, KNOWN_KINDS, MAX_PROOF_BYTES, MAX_UPDATES, type WireMessage, type WireUpdate } from "./datagram-schema.ts";
import { MAX_VERSION, PROTOCOL, speaks } from "./protocol.ts";

/**
 * The datagram format: msgpack maps with one-letter keys (bytes matter at one packet per
 * probe), decoded with hard size limits and checked against the schema (wire/datagram-schema.ts).
 * Nothing that fails here reaches the membership core; the caller counts the drop by its reason.
 * Every datagram says its protocol version (`v`, wire/protocol.ts); within a version, fields this
 * build does not know are ignored and update kinds it does not know are skipped (counted), so a
 * newer node's optional additions never cost a datagram. Piggybacked updates follow the
 * member-table rule: one that fails its schema is dropped and counted, the datagram and its
 * other updates are kept. The envelope itself stays strict.
 */

/** Larger datagrams are dropped before decoding. */
export const MAX_DATAGRAM_BYTES = 2048;

function withProof<T extends object>(w: T, p: Uint8Array | undefined): T {
  return p ? { ...w, p } : w;
}

function withProofField<T extends object>(u: T, p: Uint8Array | undefined): T {
  return p ? { ...u, proof: p } : u;
}

function toWireUpdate(u: Update): WireUpdate {
  switch (u.kind) {
    case "alive": {
      const { info } = u;
      const w: WireUpdate = { k: 0, i: u.incarnation, id: info.id, n: info.name, g: info.gossip, h: info.http, c: info.capacity };
      if (info.protocol) w.r = [info.protocol.min, info.protocol.max];
      if (info.tags && Object.keys(info.tags).length > 0) w.t = info.tags as Record<string, string>;
      return withProof(w, u.proof);
    }
    case "suspect":
      return { k: 1, id: u.id, i: u.incarnation, f: u.from };
    case "dead":
      return { k: 2, id: u.id, i: u.incarnation, f: u.from };
    case "left":
      return withProof({ k: 3, id: u.id, i: u.incarnation }, u.proof);
    case "load":
      return withProof({ k: 4, id: u.id, v: u.load.version, b: u.load.backlog }, u.proof);
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

function toWire(m: Message, v: number): WireMessage {
  switch (m.type) {
    case "ping":
      return { v, t: 0, s: m.seq, f: m.from, o: m.to, n: m.nonce, u: m.updates.map(toWireUpdate) };
    case "ack":
      return withProof({ v, t: 1, s: m.seq, f: m.from, n: m.nonce, u: m.updates.map(toWireUpdate) }, m.proof);
    case "ping-req":
      return { v, t: 2, s: m.seq, f: m.from, x: m.target, g: m.targetGossip, h: m.targetHttp, n: m.nonce, u: m.updates.map(toWireUpdate) };
    case "nack":
      return { v, t: 3, s: m.seq, f: m.from, r: m.refused };
    case "gossip":
      return { v, t: 4, f: m.from, u: m.updates.map(toWireUpdate) };
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

const encoder = new Encoder();
const decoder = new Decoder({
  maxStrLength: 255,
  maxBinLength: MAX_PROOF_BYTES,
  maxArrayLength: MAX_UPDATES,
  // An alive update has 10 fields, tags up to 16 (membership/tags.ts).
  maxMapLength: 16,
  maxExtLength: 0,
});

/**
 * A datagram in protocol `version`. `extras` (tests of a future version only): fields and
 * updates this build does not know, added as a newer build would add them.
 */
export function encodeMessage(m: Message, version = PROTOCOL.max, extras?: WireExtras): Uint8Array {
  const w = toWire(m, version);
  if (!extras) return encoder.encode(w);
  const withExtras = { ...w, ...extras.fields } as Record<string, unknown>;
  if ("u" in w && extras.updates) withExtras.u = [...w.u, ...extras.updates];
  return encoder.encode(withExtras);
}

export interface WireExtras {
  readonly fields?: Record<string, unknown>;
  readonly updates?: readonly Record<string, unknown>[];
}

/** Encoded size of one update: what it costs in a datagram's budget. */
export function encodedSize(u: Update): number {
  return encoder.encode(toWireUpdate(u)).byteLength;
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
    raw = decoder.decode(bytes);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const checked = checkMessage(raw);
  if (!checked) return { ok: false, reason: "schema" };
  const v = checked.v ?? 1;
  if (!speaks(speaking, v)) return { ok: false, reason: "version" };
  return { ok: true, version: v, ...fromWire(checked) };
}
