/**
 * POST /tags {"set": {"k": "v"}, "unset": ["k"]}: change this node's tags at run time
 * (`dsef tags set/unset`). The node announces them at once in a new signed alive claim.
 */
import type { Server } from "bun";
import * as v from "valibot";
import { tagsProblem } from "../membership/tags.ts";
import type { Tags } from "../membership/types.ts";
import { notList, record } from "../wire/fields.ts";
import type { ApiAuth } from "./api-auth.ts";
import { readBody } from "./body.ts";
import { json, parseJson, problem } from "./json.ts";
import { operatorWrite } from "./operator-write.ts";

const MAX_BODY = 4096;
const change = notList(v.object({ set: v.optional(record(v.string(), v.string())), unset: v.optional(v.pipe(v.array(v.string()), v.maxLength(64))) }));

export interface Taggable {
  tags(): Tags;
  retag(tags: Tags): void;
}

export function tagRoutes(node: Taggable, api: ApiAuth | undefined): Record<string, { POST: (req: Request, server: Server<undefined>) => Promise<Response> }> {
  const post = async (req: Request) => {
    const text = await readBody(req, MAX_BODY);
    if (!text.ok) return text.response;
    const body = parseJson(text.text, change);
    if (body instanceof Response) return body;
    const next: Record<string, string> = { ...node.tags(), ...body.set };
    for (const k of body.unset ?? []) delete next[k];
    const bad = tagsProblem(next);
    if (bad) return problem(400, bad);
    node.retag(next);
    return json({ tags: next });
  };
  const guarded = operatorWrite(api, post);
  return { "/tags": { POST: async (req, server) => guarded(req, server) } };
}
