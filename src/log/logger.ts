import pino, { type Logger } from "pino";

export type { Logger };

/**
 * JSON lines by default (for machines), each naming the node in `node`; colourised lines when a
 * person is watching, where the node's name sits in the logger's slot (`INFO (edge-a): ...`).
 */
export function createLogger(opts: { level: string; format: "json" | "pretty"; name?: string }): Logger {
  if (opts.format === "pretty") return pino({ level: opts.level, base: {}, name: opts.name, formatters: { log: moveMemberName } }, prettyStream());
  return pino({ level: opts.level, base: opts.name ? { node: opts.name } : undefined });
}

/**
 * pino-pretty shows a `name` field as the logger's name, so a line about another member (its
 * `name`) would look as if that member had logged it: in pretty lines it is `member_name`.
 */
export function moveMemberName(fields: Record<string, unknown>): Record<string, unknown> {
  if (!("name" in fields)) return fields;
  const { name, ...rest } = fields;
  return { ...rest, member_name: name };
}

/**
 * pino-pretty and its dependencies cost a node several MB it never uses when it logs JSON (the
 * default off a terminal, and in containers), so it is loaded only when asked for. A literal
 * require() keeps it in the compiled binary's bundle while evaluating it only here.
 */
function prettyStream(): pino.DestinationStream {
  const pretty = require("pino-pretty") as typeof import("pino-pretty");
  const make = (pretty as unknown as { default?: typeof pretty }).default ?? pretty;
  return make({ colorize: true, sync: true, ignore: "pid,hostname" });
}
