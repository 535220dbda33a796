/** Small helpers for JSON responses and bounded, schema-checked JSON request bodies. */
import type { z } from "zod";

/** Read-only views any origin may fetch: a dashboard served by a node that died carries on through another. */
export const CORS = { "access-control-allow-origin": "*" } as const;

export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return Response.json(body, { status, headers });
}

export function problem(status: number, error: string, headers?: Record<string, string>): Response {
  return json({ error }, status, headers);
}

export type BodyResult<T> = { ok: true; value: T } | { ok: false; response: Response };

/** Read a JSON body of at most `maxBytes` and check it against `schema`. */
export async function readJson<S extends z.ZodType>(req: Request, schema: S, maxBytes: number): Promise<BodyResult<z.infer<S>>> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBytes) return { ok: false, response: problem(413, `body larger than ${maxBytes} bytes`) };
  let text: string;
  try {
    text = await req.text();
  } catch {
    return { ok: false, response: problem(400, "could not read request body") };
  }
  if (Buffer.byteLength(text) > maxBytes) return { ok: false, response: problem(413, `body larger than ${maxBytes} bytes`) };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, response: problem(400, "body is not valid JSON") };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
    return { ok: false, response: problem(400, `invalid body: ${where}${issue?.message ?? "schema mismatch"}`) };
  }
  return { ok: true, value: parsed.data };
}
