import pino, { type Logger } from "pino";

export type { Logger };

/** JSON lines by default (for machines); colourised lines when a person is watching. */
export function createLogger(opts: { level: string; format: "json" | "pretty"; name?: string }): Logger {
  const base = { level: opts.level, base: opts.name ? { node: opts.name } : undefined };
  if (opts.format === "pretty") return pino(base, prettyStream());
  return pino(base);
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
