/**
 * The one way a route reads a request body: never more than `maxBytes` in memory, whatever the
 * framing. A declared Content-Length above the limit is refused before a byte is read; a
 * chunked body (no length) is streamed and the stream cancelled the moment it passes the limit,
 * so the answer is an immediate 413 and Bun drops the connection with the unread rest.
 */
export type Body = { ok: true; text: string } | { ok: false; response: Response };

const decoder = new TextDecoder();

export function tooLarge(maxBytes: number): Response {
  // The rest of the body is never read; tell the client the connection ends here.
  return Response.json({ error: `body larger than ${maxBytes} bytes` }, { status: 413, headers: { connection: "close" } });
}

const unreadable = (): Body => ({ ok: false, response: Response.json({ error: "could not read request body" }, { status: 400 }) });

export async function readBody(req: Request, maxBytes: number): Promise<Body> {
  const length = req.headers.get("content-length");
  const chunked = req.headers.has("transfer-encoding");
  if (length !== null && !chunked) {
    const declared = Number(length);
    if (!(declared <= maxBytes)) return { ok: false, response: tooLarge(maxBytes) };
    // The length bounds what the parser hands over: the fast path (the packet route is hot).
    try {
      return { ok: true, text: await req.text() };
    } catch {
      return unreadable();
    }
  }
  if (!req.body) return { ok: true, text: "" };
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        void reader.cancel().catch(() => {});
        return { ok: false, response: tooLarge(maxBytes) };
      }
      parts.push(value);
    }
  } catch {
    return unreadable();
  }
  if (parts.length === 1) return { ok: true, text: decoder.decode(parts[0]) };
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return { ok: true, text: decoder.decode(all) };
}
