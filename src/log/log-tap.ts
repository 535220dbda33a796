/**
 * Log lines for whoever watches (`dsef monitor`), at the level they ask for, whatever level the
 * node logs at. The logger writes to two streams: its output at the configured level, and this
 * tap at every level. While nobody watches, the logger stays at the configured level, so lines
 * below it are never even made; while someone watches at a lower level, the logger goes down to
 * it and only the tap receives the extra lines (the output keeps its level).
 */
import type { Logger } from "pino";

export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LevelName = keyof typeof LEVELS;
export const LEVEL_NAMES = Object.keys(LEVELS) as LevelName[];

/** One log line as the logger wrote it (pino's JSON: level number, time, msg, fields). */
export type LogLine = { readonly level: number; readonly time: number; readonly msg?: string } & Readonly<Record<string, unknown>>;

interface Watcher {
  readonly min: number;
  readonly fn: (line: LogLine) => void;
}

export class LogTap {
  readonly #watchers = new Set<Watcher>();
  #logger: Logger | undefined;
  #base = "info";

  /** The logger whose level follows the watchers; `base` is its configured level. */
  attach(logger: Logger, base: string): void {
    this.#logger = logger;
    this.#base = base;
  }

  get watchers(): number {
    return this.#watchers.size;
  }

  /** The configured level (what the node's own output shows). */
  get baseLevel(): string {
    return this.#base;
  }

  /** Lines at `level` and above, until the returned function is called. */
  watch(level: LevelName, fn: (line: LogLine) => void): () => void {
    const w = { min: LEVELS[level], fn };
    this.#watchers.add(w);
    this.#relevel();
    return () => {
      this.#watchers.delete(w);
      this.#relevel();
    };
  }

  /** The logger's stream interface (pino.multistream). Never throws: a watcher's trouble is not the logger's. */
  write(chunk: string): void {
    if (this.#watchers.size === 0) return;
    const level = Number(/^\{"level":(\d+)/.exec(chunk)?.[1] ?? Number.NaN);
    if (![...this.#watchers].some((w) => level >= w.min)) return;
    let line: LogLine;
    try {
      line = JSON.parse(chunk) as LogLine;
    } catch {
      return;
    }
    for (const w of this.#watchers) {
      if (level < w.min) continue;
      try {
        w.fn(line);
      } catch {
        // a watcher that went away mid-line
      }
    }
  }

  #relevel(): void {
    if (!this.#logger) return;
    const base = (LEVELS as Record<string, number>)[this.#base] ?? Number.POSITIVE_INFINITY; // "silent"
    const lowest = Math.min(base, ...[...this.#watchers].map((w) => w.min));
    const name = LEVEL_NAMES.find((n) => LEVELS[n] === lowest);
    this.#logger.level = name ?? this.#base;
  }
}
