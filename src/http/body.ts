/**
 * The one way a route reads a request body: never more than `maxBytes` in memory, whatever the
 * framing. A declared Content-Length above the limit is refused before a byte is kept; a chunked
 * body (no length) is streamed and refused the moment it passes the limit. Either way the 413
 * goes out at once and the rest of the body is read and thrown away for a short while
 * (`LINGER_MS`): a server that stops reading and closes with bytes unread makes the kernel reset
 * the connection, and a client still busy writing loses the answer with it (seen as status 0).
 */
export type Body = { ok: true; text: string } | { ok: false; response: Response };

const decoder = new TextDecoder();

/** How long the unread rest of a refused body is drained: the client sees the 413 and stops. */
export const LINGER_MS = 1000;

export function tooLarge(maxBytes: number): Response {
  return Response.json({ error: `body larger than ${maxBytes} bytes` }, { status: 413 });
}

/** Discard what is left of a refused body, for at most `LINGER_MS`; memory stays flat. */
function linger(reader: ReadableStreamDefaultReader<Uint8Array>): void {
  const stop = setTimeout(() => void reader.cancel().catch(() => {}), LINGER_MS);
  void (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // Cancelled or broken: either way, done.
    }
    clearTimeout(stop);
  })();
}

/** A body declared this small has arrived with its headers: nothing is left to reset the connection. */
const SMALL_BODY = 64 * 1024;

/**
 * A route refused a request without reading its body (401, 415, 429...): the same short drain,
 * so the client sees the answer instead of a reset. Only for a body still arriving (chunked, or
 * declared large); a flood of small refused requests costs no reader each.
 */
export function discardUnread(req: Request): void {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) <= SMALL_BODY) return;
  if (req.bodyUsed || req.body === null) return;
  try {
    linger(req.body.getReader());
  } catch {
    // Locked by a reader already: whoever holds it owns the body.
  }
}

function refuse(reader: ReadableStreamDefaultReader<Uint8Array> | undefined, maxBytes: number): Body {
  if (reader) linger(reader);
  return { ok: false, response: tooLarge(maxBytes) };
}

const unreadable = (): Body => ({ ok: false, response: Response.json({ error: "could not read request body" }, { status: 400 }) });

export async function readBody(req: Request, maxBytes: number): Promise<Body> {
  const length = req.headers.get("content-length");
  const chunked = req.headers.has("transfer-encoding");
  if (length !== null && !chunked) {
    const declared = Number(length);
    if (!(declared <= maxBytes)) return refuse(req.body?.getReader(), maxBytes);
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
      if (size > maxBytes) return refuse(reader, maxBytes);
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
