/** Renders a snapshot: totals, the cluster tiles and the member table. */
import { ago, bar, fmt, h } from "./dom.ts";
import type { PeerView, Snapshot, TimelineEntry } from "./types.ts";

const STATES = ["alive", "suspect", "dead", "left"] as const;
const ORDER: Record<string, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

export const sortMembers = (ms: PeerView[]) => [...ms].sort((a, b) => ORDER[a.state]! - ORDER[b.state]! || a.name.localeCompare(b.name));

export function renderTotals(el: HTMLElement, s: Snapshot): void {
  const count: Record<string, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  for (const m of s.members) count[m.state] = (count[m.state] ?? 0) + 1;
  const card = (cls: string, v: string, k: string) =>
    h("div", { class: `card ${cls}`, "data-total": cls || k }, h("div", { class: "v" }, v), h("div", { class: "k" }, k));
  el.replaceChildren(
    ...STATES.map((st) => card(st, String(count[st]), st)),
    card("", fmt(s.cluster.requests_per_s), "requests/s (cluster)"),
    card("", String(s.cluster.devices_active), "devices seen (60 s)"),
  );
}

export function renderTiles(el: HTMLElement, s: Snapshot): void {
  el.replaceChildren(
    ...sortMembers(s.members).map((m) => {
      const rate = s.cluster.nodes[m.id];
      return h(
        "div",
        { class: `tile ${m.state}`, "data-id": m.id },
        h("div", { class: "n" }, m.name),
        h("div", { class: "m" }, `${m.state} · ${fmt(m.promised_capacity)} u/s${rate ? ` · ${fmt(rate.rps)} req/s` : ""}`),
        bar(m.load_ratio, m.load_ratio === undefined ? "" : `load ${fmt(m.load_ratio, 2)}`),
      );
    }),
  );
}

export function renderMembers(tbody: HTMLElement, s: Snapshot): void {
  const now = Date.now();
  tbody.replaceChildren(
    ...sortMembers(s.members).map((m) => {
      const rate = s.cluster.nodes[m.id];
      return h(
        "tr",
        { "data-id": m.id, "data-state": m.state, class: m.self ? "self" : undefined },
        h("td", {}, m.name, ...Object.entries(m.tags ?? {}).map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`))),
        h("td", {}, `${m.ip}:${m.port}`),
        h("td", {}, h("span", { class: `badge ${m.state}` }, m.state)),
        h("td", {}, String(m.incarnation)),
        h("td", {}, fmt(m.promised_capacity)),
        h(
          "td",
          {},
          bar(
            m.current_load === undefined ? undefined : m.current_load / Math.max(1, m.promised_capacity),
            m.current_load === undefined ? "" : fmt(m.current_load),
          ),
        ),
        h("td", {}, bar(m.load_ratio, m.load_ratio === undefined ? "" : fmt(m.load_ratio, 2))),
        h("td", {}, rate && m.state === "alive" ? fmt(rate.rps) : "—"),
        h("td", { title: m.last_change }, ago(m.last_change, now)),
      );
    }),
  );
}

const MAX_ENTRIES = 300;

/**
 * Newest first. A membership fact (kind, member, incarnation) is shown once, even when a
 * reconnect brings the same fact as seen by another node.
 */
export function addTimeline(ol: HTMLElement, e: TimelineEntry, seen: Set<string>): void {
  const key = e.incarnation === undefined ? `${e.at}|${e.kind}|${e.text}` : `${e.kind}|${e.id}|${e.incarnation}`;
  if (seen.has(key)) return;
  seen.add(key);
  const time = new Date(e.at).toLocaleTimeString([], { hour12: false });
  const li = h("li", { class: e.kind, "data-kind": e.kind, "data-id": e.id, "data-at": String(e.at) }, h("time", {}, time), e.text);
  // Keep newest first even when a reconnect brings in older entries.
  const after = [...ol.children].find((c) => Number((c as HTMLElement).dataset.at) <= e.at);
  ol.insertBefore(li, after ?? null);
  while (ol.children.length > MAX_ENTRIES) ol.lastElementChild?.remove();
}
