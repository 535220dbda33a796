import pino, { type Logger } from "pino";
import type { LogTap } from "./log-tap.ts";
import { printable } from "./printable.ts";

export type { Logger };

/** Escape control characters in the message and in top-level string fields (pretty mode prints those raw). */
function clean(arg: unknown): unknown {
  if (typeof arg === "string") return printable(arg);
  if (typeof arg !== "object" || arg === null || Array.isArray(arg) || arg instanceof Error) return arg;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(arg)) {
    if (typeof v !== "string") continue;
    const p = printable(v);
    if (p !== v) (out ??= { ...(arg as Record<string, unknown>) })[k] = p;
  }
  return out ?? arg;
}

/** Strings from outside (names, reasons) cannot forge a log line. */
const hooks = {
  logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
    method.apply(this, args.map(clean));
  },
};

/**
 * JSON lines by default (for machines), each naming the node in `node`; colourised lines when a
 * person is watching, where the node's name sits in the logger's slot (`INFO (edge-a): ...`).
 * With a tap, every line also goes to it, at whatever level its watchers ask (log-tap.ts).
 */
export function createLogger(opts: { level: string; format: "json" | "pretty"; name?: string; tap?: LogTap }): Logger {
  const name = opts.name === undefined ? undefined : printable(opts.name);
  const pretty = opts.format === "pretty";
  const options = pretty
    ? { level: opts.level, base: {}, name, formatters: { log: moveMemberName }, hooks }
    : { level: opts.level, base: name ? { node: name } : undefined, hooks };
  const out = pretty ? prettyStream() : pino.destination({ dest: 1, sync: true });
  if (!opts.tap) return pino(options, out);
  const logger = pino(
    options,
    pino.multistream([
      { level: opts.level as pino.Level, stream: out },
      { level: "trace", stream: opts.tap },
    ]),
  );
  opts.tap.attach(logger, opts.level);
  return logger;
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
