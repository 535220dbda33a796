import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger };

/** JSON lines by default (for machines); colourised lines when a person is watching. */
export function createLogger(opts: { level: string; format: "json" | "pretty"; name?: string }): Logger {
  const base = { level: opts.level, base: opts.name ? { node: opts.name } : undefined };
  if (opts.format === "pretty") return pino(base, pretty({ colorize: true, sync: true, ignore: "pid,hostname" }));
  return pino(base);
}
