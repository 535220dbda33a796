/** Small helpers for JSON responses and schema-checked JSON request bodies. */
import type { z } from "zod";

export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return Response.json(body, { status, headers });
}

export function problem(status: number, error: string, headers?: Record<string, string>): Response {
  return json({ error }, status, headers);
}

/** Parse `text` (already read through readBody) and check it against `schema`; a 400 with the reason otherwise. */
export function parseJson<S extends z.ZodType>(text: string, schema: S): z.infer<S> | Response {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return problem(400, "body is not valid JSON");
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return problem(400, `invalid body: ${issue?.path.length ? `${issue.path.join(".")}: ` : ""}${issue?.message ?? "schema mismatch"}`);
}
