import pino, { type Logger } from "pino";
import pretty from "pino-pretty";
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

/** JSON lines by default (for machines); colourised lines when a person is watching. */
export function createLogger(opts: { level: string; format: "json" | "pretty"; name?: string }): Logger {
  const base = {
    level: opts.level,
    base: opts.name ? { node: printable(opts.name) } : undefined,
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger["info"]>, method: (...a: unknown[]) => void) {
        method.apply(this, (args as unknown[]).map(clean));
      },
    },
  };
  if (opts.format === "pretty") return pino(base, pretty({ colorize: true, sync: true, ignore: "pid,hostname" }));
  return pino(base);
}
