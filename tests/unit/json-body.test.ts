/** A request body refused by its schema: a 400 that names the field and what was wrong, without echoing the value. */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { parseJson } from "../../src/http/json.ts";
import { tagsProblem } from "../../src/membership/tags.ts";
import { nodeId, notList, record } from "../../src/wire/fields.ts";

const body = v.strictObject({
  key: v.pipe(v.string(), v.minLength(16), v.maxLength(64)),
  id: v.optional(nodeId),
  n: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
});

async function refusal(text: string, schema: v.GenericSchema = body): Promise<string> {
  const r = parseJson(text, schema);
  if (!(r instanceof Response)) throw new Error("accepted");
  expect(r.status).toBe(400);
  return ((await r.json()) as { error: string }).error;
}

describe("schema-checked JSON bodies", () => {
  test("a valid body comes back parsed", () => {
    expect(parseJson('{"key":"0123456789abcdef","n":3}', body)).toEqual({ key: "0123456789abcdef", n: 3 });
  });

  test("each refusal names the field", async () => {
    expect(await refusal("not json")).toBe("body is not valid JSON");
    expect(await refusal('{"key":"0123456789abcdef","extra":1}')).toBe("invalid body: extra: unknown field");
    expect(await refusal('{"id":"a"}')).toBe("invalid body: key: missing");
    expect(await refusal('{"key":5}')).toBe("invalid body: key: expected string, got number");
    expect(await refusal('{"key":"0123456789abcdef","n":1.5}')).toStartWith("invalid body: n: expected safe integer");
    expect(await refusal('{"key":"0123456789abcdef","id":"bad id"}')).toStartWith("invalid body: id: regex");
    expect(await refusal("5")).toBe("invalid body: expected Object, got number");
  });

  test("a secret that breaks a rule is not echoed back", async () => {
    const text = await refusal('{"key":"short-secret"}');
    expect(text).toBe("invalid body: key: min length: expected >=16");
    expect(text).not.toContain("short-secret");
  });

  test("a list where an object belongs is refused, not read as keys 0, 1, ...", async () => {
    const tags = notList(v.object({ set: v.optional(record(v.string(), v.string())) }));
    expect(await refusal("[]", tags)).toBe("invalid body: expected an object, not a list");
    expect(await refusal('{"set":["a"]}', tags)).toBe("invalid body: set: expected an object, got a list");
    expect(parseJson('{"set":{"zone":"a"}}', tags)).toEqual({ set: { zone: "a" } });
  });

  test("a key an object cannot hold plainly (__proto__, constructor) is refused by name, not dropped", async () => {
    const tags = notList(v.object({ set: v.optional(record(v.string(), v.string())) }));
    expect(await refusal('{"set":{"__proto__":"x"}}', tags)).toBe('invalid body: set: reserved key "__proto__"');
    expect(await refusal('{"set":{"zone":"a","constructor":"x"}}', tags)).toBe('invalid body: set: reserved key "constructor"');
    expect(tagsProblem({ prototype: "x" })).toContain("not __proto__, prototype or constructor");
    expect(tagsProblem({ "proto-type": "x" })).toBeUndefined();
  });
});
