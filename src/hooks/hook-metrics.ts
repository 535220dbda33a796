/** The hooks' counters in the node's Prometheus registry, read at scrape time. */
import { Counter, type Registry } from "../util/prom.ts";
import type { EventHooks, HookKind } from "./event-hooks.ts";

const KINDS: HookKind[] = ["handler", "webhook"];

export function registerHookMetrics(registry: Registry, hooks: EventHooks): void {
  const registers = [registry];
  new Counter({
    name: "dsef_hook_runs_total",
    help: "Event handler runs and webhook attempts (POSTs).",
    labelNames: ["kind"],
    registers,
    collect() {
      this.reset();
      for (const k of KINDS) this.inc({ kind: k }, hooks.counts[k].runs);
    },
  });
  new Counter({
    name: "dsef_hook_failures_total",
    help: "Failed handler runs (exit, timeout, spawn) and webhook attempts (http, timeout, network).",
    labelNames: ["kind", "reason"],
    registers,
    collect() {
      this.reset();
      for (const k of KINDS) for (const [reason, n] of Object.entries(hooks.counts[k].failures)) this.inc({ kind: k, reason }, n);
    },
  });
  new Counter({
    name: "dsef_hook_events_dropped_total",
    help: "Membership events a hook never got: its batch overflowed, a webhook gave up, or the node stopped.",
    labelNames: ["kind"],
    registers,
    collect() {
      this.reset();
      for (const k of KINDS) this.inc({ kind: k }, hooks.dropped(k));
    },
  });
}
