/** Scrape and parse a node's /metrics with a real Prometheus text parser, then read values by name and labels. */
import { existsSync } from "node:fs";
import parse, { type Family } from "parse-prometheus-text-format";

export type Scrape = Map<string, Family>;

export async function scrape(url: string): Promise<{ text: string; families: Scrape; contentType: string }> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  return { text, families: new Map(parse(text).map((f) => [f.name, f])), contentType: res.headers.get("content-type") ?? "" };
}

/** A counter or gauge sample; labels must match exactly the ones given. */
export function value(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  const f = s.get(name);
  if (!f) throw new Error(`no metric ${name}`);
  const want = JSON.stringify(Object.entries(labels).sort());
  const m = f.metrics.find((x) => JSON.stringify(Object.entries(x.labels ?? {}).sort()) === want);
  if (!m || m.value === undefined) throw new Error(`no sample ${name}${want}`);
  return Number(m.value);
}

export function histogramCount(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  const f = s.get(name);
  if (f?.type !== "HISTOGRAM") throw new Error(`no histogram ${name}`);
  const want = JSON.stringify(Object.entries(labels).sort());
  const m = f.metrics.find((x) => JSON.stringify(Object.entries(x.labels ?? {}).sort()) === want);
  return Number(m?.count ?? Number.NaN);
}

/** promtool's own check when the machine has it (apt `prometheus`); undefined when it does not. */
export async function promtoolCheck(text: string): Promise<{ ok: boolean; output: string } | undefined> {
  if (!existsSync("/usr/bin/promtool")) return undefined;
  const p = Bun.spawn(["/usr/bin/promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
  const output = (await new Response(p.stdout).text()) + (await new Response(p.stderr).text());
  return { ok: (await p.exited) === 0, output };
}
