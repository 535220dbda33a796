import { describe, expect, test } from "bun:test";
import { readBody } from "../../src/http/body.ts";

/** A request whose body arrives as a stream of `n` chunks of `size` bytes (no Content-Length: chunked). */
function streamed(n: number, size: number): { req: Request; pulled: () => number } {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled === n) return c.close();
      pulled++;
      c.enqueue(new Uint8Array(size).fill(0x61));
    },
  });
  return { req: new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit), pulled: () => pulled };
}

describe("readBody", () => {
  test("reads a streamed body within the limit", async () => {
    const r = await readBody(streamed(3, 100).req, 1000);
    expect(r.ok && r.text).toBe("a".repeat(300));
  });

  test("stops a streamed body at the limit: 413, the rest never pulled", async () => {
    const s = streamed(1_000_000, 1024);
    const r = await readBody(s.req, 16 * 1024);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.response.status).toBe(413);
    expect(s.pulled()).toBeLessThan(40);
  });

  test("a declared length above the limit is refused before reading", async () => {
    const req = new Request("http://x/", { method: "POST", body: "x".repeat(2000), headers: { "content-length": "2000" } });
    const r = await readBody(req, 1000);
    expect(!r.ok && r.response.status).toBe(413);
    expect(req.bodyUsed).toBe(false);
  });

  test("a declared length within the limit is read whole", async () => {
    const r = await readBody(new Request("http://x/", { method: "POST", body: '{"a":1}', headers: { "content-length": "7" } }), 1000);
    expect(r.ok && r.text).toBe('{"a":1}');
  });
});
