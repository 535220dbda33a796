import { describe, expect, test } from "bun:test";
import { encode } from "@msgpack/msgpack";
import type { Message } from "../../src/membership/types.ts";
import { decodeMessage, encodeMessage, MAX_DATAGRAM_BYTES } from "../../src/wire/codec.ts";

const info = { id: "0123456789abcdef", name: "edge-1", gossip: "10.0.0.1:5000", http: "10.0.0.1:5000", capacity: 800 };
const nonce = new Uint8Array(16).fill(7);
const messages: Message[] = [
  { type: "ping", seq: 1, from: "a1", to: "b2", nonce, updates: [{ kind: "alive", incarnation: 5, info }] },
  { type: "ack", seq: 2, from: "b2", nonce, updates: [{ kind: "suspect", id: "c3", incarnation: 1, from: "a1" }] },
  { type: "ack", seq: 2, from: "b2", nonce, proof: new Uint8Array(64).fill(1), updates: [] },
  { type: "ping-req", seq: 3, from: "a1", target: "c3", targetGossip: "10.0.0.3:5000", targetHttp: "10.0.0.3:5000", nonce, updates: [] },
  { type: "nack", seq: 4, from: "b2", refused: true },
  {
    type: "gossip",
    from: "a1",
    updates: [
      { kind: "dead", id: "c3", incarnation: 1, from: "a1" },
      { kind: "left", id: "d4", incarnation: 9 },
      { kind: "left", id: "d5", incarnation: 9, proof: new Uint8Array(64).fill(2) },
      { kind: "load", id: "a1", load: { version: 10, backlog: 12.5 } },
    ],
  },
];

describe("wire codec", () => {
  test("every message round-trips, in msgpack (version 1) and in JSON (version 2)", () => {
    for (const version of [1, 2])
      for (const m of messages)
        expect(decodeMessage(encodeMessage(m, version))).toEqual({ ok: true, message: m, version, droppedUpdates: 0, unknownUpdates: 0 });
  });

  test("a ping with no updates stays small; in JSON, a gossip of alive claims is no larger than in msgpack", () => {
    const ping: Message = { type: "ping", seq: 123456, from: "0123456789abcdef", to: "fedcba9876543210", nonce, updates: [] };
    expect(encodeMessage(ping, 1).byteLength).toBeLessThan(80);
    expect(encodeMessage(ping, 2).byteLength).toBeLessThan(110);
    const at = (i: number) => `10.0.0.${i}:5000`;
    const claims: Message = {
      type: "gossip",
      from: "a1",
      updates: Array.from({ length: 10 }, (_, i) => ({
        kind: "alive",
        incarnation: 1_796_087_423,
        info: { ...info, id: `${i}123456789abcdef`, name: at(i), gossip: at(i), http: at(i) },
      })),
    };
    expect(encodeMessage(claims, 2).byteLength).toBeLessThanOrEqual(encodeMessage(claims, 1).byteLength);
    // An alive claim whose addresses differ from its name keeps them.
    expect(decodeMessage(encodeMessage(messages[0]!, 2))).toMatchObject({ ok: true, message: messages[0] });
  });

  test("JSON that is not a version-2 datagram, or not UTF-8, is refused; base64 that is not, fails the schema", () => {
    const text = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
    expect(decodeMessage(text({ t: 3, s: 4, f: "b2", r: true }))).toEqual({ ok: false, reason: "schema" });
    expect(decodeMessage(text({ v: 1, t: 3, s: 4, f: "b2", r: true }))).toEqual({ ok: false, reason: "schema" });
    expect(decodeMessage(text({ v: 2, t: 3, s: 4, f: "b2", r: true }))).toMatchObject({ ok: true, version: 2 });
    expect(decodeMessage(new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual({ ok: false, reason: "malformed" });
    expect(decodeMessage(text({ v: 2, t: 1, s: 1, f: "b2", n: "not base64!", u: [] }))).toEqual({ ok: false, reason: "schema" });
    expect(decodeMessage(text({ v: 2, t: 1, s: 1, f: "b2", n: [7, 7, 7, 7, 7, 7, 7, 7], u: [] }))).toEqual({ ok: false, reason: "schema" });
    const deep = new TextEncoder().encode(`{"v":2,"t":4,"f":"a","u":${"[".repeat(900)}${"]".repeat(900)}}`);
    expect(decodeMessage(deep).ok).toBe(true); // one update that is no update: dropped, counted
  });

  test("acks and pings without a nonce, or with one too short or too long, fail the schema", () => {
    for (const n of [new Uint8Array(4), new Uint8Array(40)]) {
      expect(decodeMessage(encodeMessage({ type: "ping", seq: 1, from: "a1", to: "b2", nonce: n, updates: [] }))).toEqual({ ok: false, reason: "schema" });
    }
    expect(decodeMessage(encode({ t: 1, s: 1, f: "b2", u: [] }))).toEqual({ ok: false, reason: "schema" });
  });

  test("oversized datagrams are dropped before decoding", () => {
    expect(decodeMessage(new Uint8Array(MAX_DATAGRAM_BYTES + 1))).toEqual({ ok: false, reason: "oversized" });
  });

  test("garbage and truncated bytes are malformed", () => {
    expect(decodeMessage(new Uint8Array([0xc1]))).toEqual({ ok: false, reason: "malformed" });
    const full = encodeMessage(messages[0]!);
    expect(decodeMessage(full.slice(0, full.length - 3)).ok).toBe(false);
  });

  test("valid msgpack of the wrong shape fails the schema", () => {
    const cases: unknown[] = [
      42,
      "ping",
      [1, 2, 3],
      { t: 0 },
      { t: 0, s: -1, f: "a", o: "b", u: [] },
      { t: 9, f: "a", u: [] },
      { t: 4, f: "bad id with spaces", u: [] },
    ];
    for (const c of cases) expect(decodeMessage(encode(c)).ok).toBe(false);
  });

  test("a bad update is dropped and counted; the datagram and its other updates are kept", () => {
    const good = { k: 3, id: "d4", i: 9 };
    const bad: unknown[] = [
      { k: 0, i: 1, id: "x", n: "x", g: "not an address", h: "1.2.3.4:5", c: 1 },
      { k: 2, id: "x", i: 1.5, f: "y" },
      { k: 4, id: "x", v: 1796054897499.8623, b: 3 },
      { k: -1, id: "x" },
      "not an update",
    ];
    const d = decodeMessage(encode({ t: 4, f: "a", u: [good, ...bad] }));
    expect(d).toEqual({
      ok: true,
      message: { type: "gossip", from: "a", updates: [{ kind: "left", id: "d4", incarnation: 9 }] },
      version: 1,
      droppedUpdates: bad.length,
      unknownUpdates: 0,
    });
  });
});

describe("wire codec: versions and additions", () => {
  const tagged = { ...info, tags: { zone: "a", role: "gateway" }, protocol: { min: 1, max: 2 } };

  test("tags and the protocol range travel in the alive claim", () => {
    const m: Message = { type: "gossip", from: "a1", updates: [{ kind: "alive", incarnation: 3, info: tagged }] };
    expect(decodeMessage(encodeMessage(m))).toMatchObject({ ok: true, message: m });
  });

  test("a newer build's fields and update kinds are skipped (counted), the rest is kept", () => {
    const m: Message = { type: "gossip", from: "a1", updates: [{ kind: "left", id: "d4", incarnation: 9 }] };
    const bytes = encodeMessage(m, 1, { fields: { x: 1, later: "field" }, updates: [{ k: 9, id: "a1", z: "next" }] });
    expect(decodeMessage(bytes)).toEqual({ ok: true, message: m, version: 1, droppedUpdates: 0, unknownUpdates: 1 });
    // An unknown field inside a known update is ignored too.
    const withField = encode({ v: 1, t: 4, f: "a1", u: [{ k: 3, id: "d4", i: 9, later: true }] });
    expect(decodeMessage(withField)).toEqual({ ok: true, message: m, version: 1, droppedUpdates: 0, unknownUpdates: 0 });
  });

  test("a datagram in a version this node does not speak is dropped as `version`; one in its range is read", () => {
    const m: Message = { type: "nack", seq: 4, from: "b2", refused: true };
    expect(decodeMessage(encodeMessage(m, 3))).toEqual({ ok: false, reason: "version" });
    expect(decodeMessage(encodeMessage(m, 3), { min: 1, max: 3 })).toMatchObject({ ok: true, version: 3 });
    expect(decodeMessage(encodeMessage(m, 1), { min: 2, max: 3 })).toEqual({ ok: false, reason: "version" });
    expect(decodeMessage(encode({ v: 0, t: 3, s: 4, f: "b2", r: true })).ok).toBe(false);
  });

  test("tags beyond their limits fail the alive claim (dropped), not the datagram", () => {
    const bad = { k: 0, i: 1, id: "x", n: "x", g: "1.2.3.4:5", h: "1.2.3.4:5", c: 1, t: { "bad key": "v" } };
    expect(decodeMessage(encode({ v: 1, t: 4, f: "a", u: [bad] }))).toMatchObject({ ok: true, droppedUpdates: 1 });
  });

  test("load figures published by the core encode and decode (integer versions)", () => {
    const load = { kind: "load" as const, id: "a1", load: { version: Math.floor(performance.timeOrigin + performance.now()), backlog: 12.5 } };
    const d = decodeMessage(encodeMessage({ type: "gossip", from: "a1", updates: [load] }));
    expect(d.ok && d.droppedUpdates === 0 && d.message.type === "gossip" && d.message.updates[0]).toEqual(load);
  });

  test("limits on collection and string sizes hold", () => {
    const many = { t: 4, f: "a", u: Array.from({ length: 65 }, () => ({ k: 3, id: "x", i: 1 })) };
    expect(decodeMessage(encode(many)).ok).toBe(false);
    expect(decodeMessage(encode({ t: 4, f: "a".repeat(300), u: [] })).ok).toBe(false);
  });
});
