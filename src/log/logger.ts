import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger };

/**
 * JSON lines by default (for machines), each naming the node in `node`; colourised lines when a
 * person is watching, where the node's name sits in the logger's slot (`INFO (edge-a): ...`).
 */
export function createLogger(opts: { level: string; format: "json" | "pretty"; name?: string }): Logger {
  if (opts.format === "pretty") {
    return pino(
      { level: opts.level, base: {}, name: opts.name, formatters: { log: moveMemberName } },
      pretty({ colorize: true, sync: true, ignore: "pid,hostname" }),
    );
  }
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
