/** Bad bodies on a real node: each gets its 4xx with a clear error, and the node keeps serving. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { allocPorts, type NodeProcess, spawnNode, stopAll } from "../support/processes.ts";

let node: NodeProcess;
beforeAll(async () => {
  node = await spawnNode({ port: allocPorts(1)[0]!, capacity: 1000 });
});
afterAll(() => stopAll([node]));

const post = (body: BodyInit, headers: Record<string, string> = { "content-type": "application/json" }) =>
  fetch(`${node.url}/handle_request`, { method: "POST", body, headers, signal: AbortSignal.timeout(5000) });

describe("POST /handle_request with bad bodies", () => {
  const cases: [string, BodyInit, number, string][] = [
    ["not JSON", "processing_load=5", 400, "not valid JSON"],
    ["empty", "", 400, "not valid JSON"],
    ["an array", "[5]", 400, "JSON object"],
    ["missing load", '{"packet_id":"x"}', 400, "required"],
    ["negative load (made the seed's node look empty)", '{"processing_load":-100}', 400, "positive"],
    ["text load (gave the seed an HTTP 500)", '{"processing_load":"heavy"}', 400, "must be a number"],
    ["absurd load", '{"processing_load":1e12}', 400, "at most"],
    ["wrong id type", '{"processing_load":5,"packet_id":{"a":1}}', 400, "packet_id"],
    ["oversized body", JSON.stringify({ processing_load: 5, pad: "x".repeat(64 * 1024) }), 413, "larger than"],
  ];
  for (const [name, body, status, msg] of cases) {
    test(`${name} -> ${status}`, async () => {
      const res = await post(body);
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: string }).error).toContain(msg);
    });
  }

  test("a body beyond the server's hard limit is refused with 413 too", async () => {
    const res = await post(new Uint8Array(5 * 1024 * 1024).fill(32));
    expect(res.status).toBe(413);
  });

  test("after all that the node still serves and counted every bad request", async () => {
    const res = await post('{"processing_load": 50, "packet_id": "good-1"}');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "accepted", handled_by: `127.0.0.1:${node.port}` });
    const s = await node.status();
    expect(s.load.accepted).toBe(1);
    expect(s.load.bad_requests).toBeGreaterThanOrEqual(cases.length);
    expect((await fetch(`${node.url}/health`)).ok).toBe(true);
  });
});
