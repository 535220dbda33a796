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

/** --api-token: the node wants its token. Ask for it; /login sets a cookie and comes back here. */
function askForToken(): void {
  conn.className = "conn lost";
  conn.dataset.state = "login";
  conn.textContent = "";
  const form = document.createElement("form");
  form.className = "login";
  const input = Object.assign(document.createElement("input"), { type: "password", placeholder: "API token", name: "token", autocomplete: "current-password" });
  const button = Object.assign(document.createElement("button"), { type: "submit", textContent: "open" });
  form.append("this node needs its API token ", input, button);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.href = `/login?token=${encodeURIComponent(input.value)}`;
  });
  conn.append(form);
  input.focus();
}

function start(): void {
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
}

const given = new URLSearchParams(location.search).get("token");
if (given !== null) {
  // Trade it for a cookie at once: the token must not stay in the address bar or history.
  location.replace(`/login?token=${encodeURIComponent(given)}`);
} else {
  // A node with --api-token answers 401 until the browser holds its login cookie.
  void fetch("/status", { credentials: "same-origin" }).then(
    (r) => (r.status === 401 ? askForToken() : start()),
    () => start(),
  );
}
