/**
 * The node's event hooks (--event-handler, --webhook): membership events in, handler runs and
 * webhook deliveries out, each hook with its own batch and at most one delivery at a time
 * (hook-sink.ts). `push` only files the event, so the protocol never waits for a hook.
 *
 * A handler runs as `sh -c CMD` with the node's environment minus its own DSEF_* settings (they
 * may hold its secrets), plus DSEF_EVENT, DSEF_SELF_NAME, DSEF_SELF_ID and DSEF_SELF_ADDRESS; the
 * members come on stdin (hook-event.ts). Consecutive events of one name make one run.
 */
import type { HookSettings } from "../config/hook-flags.ts";
import type { Logger } from "../log/logger.ts";
import type { MemberEvent } from "../membership/types.ts";
import type { Attempt, RetryPolicy } from "./backoff.ts";
import type { CoalesceOptions } from "./coalescer.ts";
import { type HookEvent, hookEvent, memberLine, runsOf } from "./hook-event.ts";
import { HookSink } from "./hook-sink.ts";
import { runScript } from "./script-runner.ts";
import type { WebhookKey } from "./signature.ts";
import { deliverWebhook } from "./webhook.ts";

export type HookKind = "handler" | "webhook";

export interface HookCounts {
  /** Handler runs; webhook attempts (POSTs). */
  runs: number;
  /** Failed runs or attempts, by reason: handler exit, timeout, spawn; webhook http, timeout, network. */
  failures: Record<string, number>;
}

export interface HookSelf {
  readonly id: string;
  readonly name: string;
  readonly address: string;
}

export interface HookDeps {
  readonly self: HookSelf;
  readonly log: Logger;
  /** The key webhook deliveries are signed with now (a cluster secret is set), else undefined. */
  readonly signingKey: () => WebhookKey | undefined;
  /** The environment handlers inherit (default: this process's). */
  readonly env?: Record<string, string | undefined>;
  /** Tests: shorter batches and retries. */
  readonly coalesce?: CoalesceOptions;
  readonly retry?: RetryPolicy;
}

const clip = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}…` : s);

export class EventHooks {
  readonly counts: Record<HookKind, HookCounts> = { handler: { runs: 0, failures: {} }, webhook: { runs: 0, failures: {} } };
  readonly #sinks: { kind: HookKind; sink: HookSink }[] = [];
  readonly #stop = new AbortController();

  constructor(settings: HookSettings, deps: HookDeps) {
    const { self, log } = deps;
    const base = handlerEnv(deps.env ?? process.env);
    const fail = (kind: HookKind, reason: string) => {
      const f = this.counts[kind].failures;
      f[reason] = (f[reason] ?? 0) + 1;
    };
    for (const spec of settings.eventHandlers) {
      const deliver = async (events: HookEvent[]) => {
        for (const run of runsOf(events)) {
          if (this.#stop.signal.aborted) return false;
          this.counts.handler.runs++;
          const r = await runScript({
            command: spec.target,
            env: { ...base, DSEF_EVENT: run.event, DSEF_SELF_NAME: self.name, DSEF_SELF_ID: self.id, DSEF_SELF_ADDRESS: self.address },
            stdin: `${run.members.map(memberLine).join("\n")}\n`,
            timeoutMs: settings.hookTimeoutMs,
            signal: this.#stop.signal,
          });
          const about = { handler: clip(spec.target), event: run.event, members: run.members.length, ms: r.ms };
          if (r.ok) {
            log.debug({ ...about, output: r.output }, "event handler ran");
            continue;
          }
          fail("handler", r.reason);
          const why = r.reason === "timeout" ? `killed after ${settings.hookTimeoutMs} ms` : r.reason === "spawn" ? "could not start" : `exit code ${r.code}`;
          log.warn({ ...about, output: r.output }, `event handler failed: ${why}`);
        }
        return true;
      };
      this.#sinks.push({ kind: "handler", sink: new HookSink(spec, deliver, deps.coalesce) });
    }
    for (const spec of settings.webhooks) {
      const deliver = async (events: HookEvent[], dropped: number) => {
        const ok = await deliverWebhook(
          {
            url: spec.target,
            timeoutMs: settings.hookTimeoutMs,
            self,
            signingKey: deps.signingKey,
            retry: deps.retry,
            signal: this.#stop.signal,
            attempted: (a: Attempt, attempt: number) => {
              this.counts.webhook.runs++;
              if (a.ok) return;
              fail("webhook", a.reason.startsWith("HTTP") ? "http" : a.reason);
              log.debug({ webhook: redact(spec.target), attempt, reason: a.reason }, "webhook attempt failed");
            },
          },
          events,
          dropped,
        );
        if (!ok && !this.#stop.signal.aborted)
          log.warn({ webhook: redact(spec.target), events: events.length }, "webhook delivery given up; its events are dropped");
        return ok;
      };
      this.#sinks.push({ kind: "webhook", sink: new HookSink(spec, deliver, deps.coalesce) });
    }
  }

  get size(): number {
    return this.#sinks.length;
  }

  /** Events lost by each kind of hook (full batches, deliveries given up, the node stopping). */
  dropped(kind: HookKind): number {
    return this.#sinks.filter((s) => s.kind === kind).reduce((n, s) => n + s.sink.dropped, 0);
  }

  /** File a membership event with every hook that wants it. */
  push(e: MemberEvent): void {
    if (this.#sinks.length === 0) return;
    const h = hookEvent(e, Date.now());
    for (const s of this.#sinks) s.sink.offer(h);
  }

  /** The node stops: handlers still running are killed, deliveries abandoned. */
  close(): void {
    this.#stop.abort();
    for (const s of this.#sinks) s.sink.close();
  }
}

/** What a handler inherits: the node's environment without its own settings (they may hold its secrets). */
export function handlerEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !k.startsWith("DSEF_")) out[k] = v;
  return out;
}

/** A webhook URL for the log: no user:password, no query (either may hold a token). */
export function redact(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
