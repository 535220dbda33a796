/** Small helpers for JSON responses and schema-checked JSON request bodies. */
import * as v from "valibot";
import { issueText } from "../wire/fields.ts";

export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return Response.json(body, { status, headers });
}

export function problem(status: number, error: string, headers?: Record<string, string>): Response {
  return json({ error }, status, headers);
}

/** Parse `text` (already read through readBody) and check it against `schema`; a 400 with the reason otherwise. */
export function parseJson<S extends v.GenericSchema>(text: string, schema: S): v.InferOutput<S> | Response {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return problem(400, "body is not valid JSON");
  }
  const parsed = v.safeParse(schema, raw);
  return parsed.success ? parsed.output : problem(400, `invalid body: ${issueText(parsed.issues)}`);
}
