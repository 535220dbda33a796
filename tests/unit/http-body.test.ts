import { describe, expect, test } from "bun:test";
import { LINGER_MS, readBody } from "../../src/http/body.ts";

/** A request whose body arrives as a stream of `n` chunks of `size` bytes (no Content-Length: chunked), one per `gapMs`. */
function streamed(n: number, size: number, gapMs = 0): { req: Request; pulled: () => number; cancelled: () => boolean } {
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (pulled === n) return c.close();
      if (gapMs) await Bun.sleep(gapMs);
      pulled++;
      c.enqueue(new Uint8Array(size).fill(0x61));
    },
    cancel() {
      cancelled = true;
    },
  });
  return { req: new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit), pulled: () => pulled, cancelled: () => cancelled };
}

describe("readBody", () => {
  test("reads a streamed body within the limit", async () => {
    const r = await readBody(streamed(3, 100).req, 1000);
    expect(r.ok && r.text).toBe("a".repeat(300));
  });

  test("a streamed body past the limit: 413 at once; the rest is thrown away for LINGER_MS, then the stream is cancelled", async () => {
    // An endless body, one KiB every 5 ms: the client of a real socket would stop on the 413.
    const s = streamed(Number.POSITIVE_INFINITY, 1024, 5);
    const r = await readBody(s.req, 16 * 1024);
    expect(!r.ok && r.response.status).toBe(413);
    expect(s.pulled()).toBeLessThan(40);
    // Still read (a server that closes with bytes unread resets the connection, and the client loses the 413).
    await Bun.sleep(LINGER_MS / 2);
    expect(s.cancelled()).toBe(false);
    await Bun.sleep(LINGER_MS / 2 + 200);
    expect(s.cancelled()).toBe(true);
    const final = s.pulled();
    await Bun.sleep(100);
    expect(s.pulled()).toBeLessThanOrEqual(final + 1);
  });

  test("a declared length above the limit is refused before a byte is kept", async () => {
    const req = new Request("http://x/", { method: "POST", body: "x".repeat(2000), headers: { "content-length": "2000" } });
    const r = await readBody(req, 1000);
    expect(!r.ok && r.response.status).toBe(413);
  });

  test("a declared length within the limit is read whole", async () => {
    const r = await readBody(new Request("http://x/", { method: "POST", body: '{"a":1}', headers: { "content-length": "7" } }), 1000);
    expect(r.ok && r.text).toBe('{"a":1}');
  });
});
