/**
 * What the demo prints from its nodes' JSON logs: one line per membership event (however many
 * nodes report it) and each warning or error once, so the banner above stays on screen. Pure.
 */

/** Events already shown (event, member, incarnation) and warnings shown recently (text → when). */
export interface DemoView {
  readonly events: Set<string>;
  readonly warnings: Map<string, number>;
}

export const newDemoView = (): DemoView => ({ events: new Set(), warnings: new Map() });

/** The same warning from several nodes within this window is shown once. */
const WARNING_REPEAT_MS = 10_000;
/** Bounds the memory of a long-running demo. */
const MAX_REMEMBERED = 10_000;

const LEVELS: Record<number, string> = { 40: "WARN", 50: "ERROR", 60: "FATAL" };

/** The line to print for one log line of a node, or undefined to skip it. */
export function demoLine(view: DemoView, raw: string, now: number): string | undefined {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return raw.trim() === "" ? undefined : raw; // not a log line (a crash trace): show it as it is
  }
  if (typeof e !== "object" || e === null) return raw;
  const at = clock(typeof e.time === "number" ? e.time : now);
  const observer = String(e.node ?? "?");
  if (typeof e.event === "string") {
    const key = `${e.event} ${String(e.member)} ${String(e.incarnation)}`;
    if (view.events.has(key)) return undefined;
    if (view.events.size >= MAX_REMEMBERED) view.events.clear();
    view.events.add(key);
    const who = String(e.name ?? e.member);
    const why = typeof e.reason === "string" ? `, ${e.reason}` : "";
    const source = who === observer ? "says so itself" : `seen first by ${observer}`;
    return `${at}  ${who.padEnd(8)} ${e.event.padEnd(9)} (${source}${why})`;
  }
  const level = LEVELS[Number(e.level)];
  if (!level) return undefined;
  const text = String(e.msg ?? "");
  const last = view.warnings.get(text);
  if (last !== undefined && now - last < WARNING_REPEAT_MS) return undefined;
  if (view.warnings.size >= MAX_REMEMBERED) view.warnings.clear();
  view.warnings.set(text, now);
  const err = typeof e.err === "string" ? ` (${e.err})` : "";
  return `${at}  ${level} ${observer}: ${text}${err}`;
}

function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}
