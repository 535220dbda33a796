import { describe, expect, test } from "bun:test";
import { parsePacketRequest } from "../../src/load/request-body.ts";

describe("parsePacketRequest", () => {
  test("accepts the seed's body and the optional ids", () => {
    expect(parsePacketRequest('{"processing_load": 120}')).toEqual({ ok: true, value: { processing_load: 120 } });
    const r = parsePacketRequest('{"processing_load": 1.5, "packet_id": "d-1", "device_id": "d", "tried": ["127.0.0.1:5000"], "extra": 1}');
    expect(r).toEqual({ ok: true, value: { processing_load: 1.5, packet_id: "d-1", device_id: "d", tried: ["127.0.0.1:5000"] } });
  });

  const bad: [string, string][] = [
    ["not json", "not valid JSON"],
    ["[1,2]", "JSON object"],
    ["null", "JSON object"],
    ["{}", "required"],
    ['{"processing_load": "100"}', "must be a number"],
    ['{"processing_load": -5}', "positive"],
    ['{"processing_load": 0}', "positive"],
    ['{"processing_load": 1e300}', "at most"],
    ['{"processing_load": 10, "packet_id": 7}', "packet_id"],
    ['{"processing_load": 10, "packet_id": ""}', "packet_id"],
    ['{"processing_load": 10, "device_id": "has space"}', "device_id"],
    ['{"processing_load": 10, "packet_id": "p", "tried": "a"}', "tried"],
    ['{"processing_load": 10, "tried": ["a:1"]}', "needs a packet_id"],
  ];
  for (const [body, msg] of bad) {
    test(`400 for ${body}`, () => {
      const r = parsePacketRequest(body);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.status).toBe(400);
        expect(r.error).toContain(msg);
      }
    });
  }

  test("413 for an oversized body", () => {
    const r = parsePacketRequest(`{"processing_load": 1, "x": "${"a".repeat(20_000)}"}`);
    expect(r.ok || r.status).toBe(413);
  });
});
