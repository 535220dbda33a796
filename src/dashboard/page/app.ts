/** The dashboard page: wires the live feed to the views and charts. */
import { Charts } from "./charts.ts";
import { startFeed } from "./feed.ts";
import type { TimelineEntry } from "./types.ts";
import { addTimeline, renderMembers, renderTiles, renderTotals } from "./view.ts";

const $ = (id: string) => document.getElementById(id)!;
const conn = $("conn");
const timeline = $("timeline");
const seen = new Set<string>();
const charts = new Charts($("chart-load"), $("chart-rps"));

const note = (text: string) => addTimeline(timeline, { at: Date.now(), kind: "dashboard", id: "", name: "", addr: "", text }, seen);
let lastStatus = "";

startFeed(location.origin, {
  hello(h) {
    // A node's recent history: after a reconnect this fills in what happened meanwhile.
    const entries: TimelineEntry[] = h.timeline;
    for (const e of entries) addTimeline(timeline, e, seen);
  },
  snapshot(s) {
    renderTotals($("totals"), s);
    renderTiles($("tiles"), s);
    renderMembers($("members").querySelector("tbody")!, s);
    charts.add(s);
  },
  timeline(e) {
    addTimeline(timeline, e, seen);
  },
  status(kind, text) {
    conn.className = `conn ${kind}`;
    conn.textContent = text;
    conn.dataset.state = kind;
    if (kind !== "connecting" && text !== lastStatus && (kind !== "live" || lastStatus)) note(`dashboard: ${text}`);
    lastStatus = text;
  },
});
