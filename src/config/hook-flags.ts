/**
 * The flags of the event hooks (README, "Event hooks"): scripts and webhooks told of membership
 * changes. Part of the node's one flag table (node-config.ts). A hook is `[EVENTS=]TARGET`:
 *
 *   --event-handler ./on-change.sh                      every event
 *   --event-handler member-failed,member-leave=./page.sh only these
 *   --webhook member-join=https://ops.example/dsef      the same filter syntax for a URL
 *
 * The prefix is a filter only when every word before the first `=` is an event name, so a
 * command such as `FOO=1 ./x.sh` is left whole; a word that looks like an event but is not one
 * (`member-jion=`) is refused rather than run as a command.
 */
import { parseDuration } from "./parse-values.ts";

/** Serf's member events, plus what SWIM knows that Serf does not say: a suspicion, and its end. */
export const HOOK_EVENTS = ["member-join", "member-leave", "member-failed", "member-update", "member-suspect", "member-alive"] as const;
export type HookEventName = (typeof HOOK_EVENTS)[number];

export interface HookSpec {
  /** The events this hook wants (all of them when no filter was given). */
  readonly events: readonly HookEventName[];
  /** The shell command (event handlers) or URL (webhooks). */
  readonly target: string;
}

/** At most this many of each kind: every hook runs beside the protocol. */
export const MAX_HOOKS = 8;

const isEvent = (w: string): w is HookEventName => (HOOK_EVENTS as readonly string[]).includes(w);

/** `[EVENTS=]TARGET`; throws a one-line reason. */
export function parseHookSpec(raw: string): HookSpec {
  const value = raw.trim();
  const m = /^([a-z*][a-z*,-]*)=(.*)$/s.exec(value);
  if (m) {
    const words = m[1]!.split(",").filter(Boolean);
    const looksLikeFilter = words.every((w) => w === "*" || w.startsWith("member-"));
    if (looksLikeFilter) {
      const unknown = words.find((w) => w !== "*" && !isEvent(w));
      if (unknown) throw new Error(`unknown event "${unknown}" (events: ${HOOK_EVENTS.join(", ")}, or *)`);
      const target = m[2]!.trim();
      if (!target) throw new Error(`nothing to run after "${m[1]}="`);
      const events = words.includes("*") ? HOOK_EVENTS : HOOK_EVENTS.filter((e) => words.includes(e));
      return { events, target };
    }
  }
  if (!value) throw new Error("empty hook");
  return { events: HOOK_EVENTS, target: value };
}

export function parseWebhookSpec(raw: string): HookSpec {
  const spec = parseHookSpec(raw);
  let u: URL;
  try {
    u = new URL(spec.target);
  } catch {
    throw new Error(`not a URL: "${spec.target}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("a webhook must be an http:// or https:// URL");
  return { events: spec.events, target: u.href };
}

/** The part of the node's config these flags set. */
export interface HookSettings {
  eventHandlers: HookSpec[];
  webhooks: HookSpec[];
  /** A handler still running after this is killed; a webhook attempt is abandoned. */
  hookTimeoutMs: number;
}

interface HookFlag {
  readonly flag: string;
  readonly env: string;
  readonly arg: string;
  readonly help: string;
  /** Repeatable: the values reach `apply` one a line (its variable: one a line too). */
  readonly multiple?: true;
  readonly apply: (c: HookSettings, v: string) => void;
}

/** Every hook given: the flag's values (or its variable's lines), one a line. */
function hooksOf(v: string, parse: (raw: string) => HookSpec, kind: string): HookSpec[] {
  const specs = v
    .split("\n")
    .filter((l) => l.trim())
    .map(parse);
  if (specs.length > MAX_HOOKS) throw new Error(`at most ${MAX_HOOKS} ${kind}s`);
  return specs;
}

export const hookFlags: HookFlag[] = [
  {
    flag: "event-handler",
    env: "DSEF_EVENT_HANDLER",
    arg: "[EVENTS=]CMD",
    multiple: true,
    help: "run CMD (sh -c) on membership events: DSEF_EVENT names the event, stdin has one member a line (name, address, state, tags, id; tab-separated); EVENTS filters (member-join,member-leave,member-failed,member-update,member-suspect,member-alive); repeatable (the variable: one a line)",
    apply: (c, v) => void (c.eventHandlers = hooksOf(v, parseHookSpec, "event handler")),
  },
  {
    flag: "webhook",
    env: "DSEF_WEBHOOK",
    arg: "[EVENTS=]URL",
    multiple: true,
    help: "POST membership events to URL as JSON batches, retried with backoff, signed (x-dsef-signature) when a cluster key is set; EVENTS filters as for --event-handler; repeatable (the variable: one a line)",
    apply: (c, v) => void (c.webhooks = hooksOf(v, parseWebhookSpec, "webhook")),
  },
  {
    flag: "hook-timeout",
    env: "DSEF_HOOK_TIMEOUT",
    arg: "DURATION",
    help: "an event handler still running after this is killed (with its children); a webhook attempt is abandoned and retried (default 30s)",
    apply: (c, v) => {
      const ms = parseDuration(v);
      if (ms <= 0) throw new Error("must be positive");
      c.hookTimeoutMs = ms;
    },
  },
];
