/**
 * The live feed: one EventSource to a node's /events. When that node stops answering (stream
 * error, or no snapshot for a few intervals), try the other nodes it listed as alive, then the
 * lost one again, until one answers. With --api-token, the page's own node takes the login
 * cookie; other nodes take the ticket from the last hello (and the cookie, on the same host).
 */
import type { Hello, Snapshot, TimelineEntry } from "./types.ts";

export interface FeedHandlers {
  hello(h: Hello, base: string): void;
  snapshot(s: Snapshot): void;
  timeline(e: TimelineEntry): void;
  status(kind: "connecting" | "live" | "lost" | "failover", text: string): void;
}

const OPEN_TIMEOUT_MS = 2000;
const SILENCE_MS = 3500;

export function startFeed(first: string, on: FeedHandlers): void {
  let known: string[] = [];
  let lostFrom: string | undefined;
  let ticket: string | undefined;

  const open = (base: string): Promise<EventSource> =>
    new Promise((resolve, reject) => {
      const other = base !== first;
      const es = new EventSource(`${base}/events${other && ticket ? `?ticket=${encodeURIComponent(ticket)}` : ""}`, { withCredentials: other });
      const timer = setTimeout(() => fail(), OPEN_TIMEOUT_MS);
      const fail = () => {
        clearTimeout(timer);
        es.close();
        reject(new Error(`${base} did not answer`));
      };
      es.onerror = fail;
      es.addEventListener("hello", (m) => {
        clearTimeout(timer);
        es.onerror = null;
        const hello = JSON.parse((m as MessageEvent).data) as Hello;
        ticket = hello.ticket ?? ticket;
        on.hello(hello, base);
        resolve(es);
      });
    });

  /** Resolves when the stream fails or goes quiet. */
  const watch = (es: EventSource): Promise<void> =>
    new Promise((resolve) => {
      let last = Date.now();
      const done = () => {
        clearInterval(timer);
        es.close();
        resolve();
      };
      const timer = setInterval(() => Date.now() - last > SILENCE_MS && done(), 500);
      es.onerror = done;
      es.addEventListener("snapshot", (m) => {
        last = Date.now();
        const s = JSON.parse((m as MessageEvent).data) as Snapshot;
        known = s.members
          .filter((p) => p.state === "alive" || p.state === "suspect")
          .map((p) => `${location.protocol}//${p.ip.includes(":") ? `[${p.ip}]` : p.ip}:${p.port}`);
        on.snapshot(s);
      });
      es.addEventListener("timeline", (m) => on.timeline(JSON.parse((m as MessageEvent).data) as TimelineEntry));
    });

  const label = (base: string) => base.replace(/^https?:\/\//, "");

  void (async () => {
    let base = first;
    on.status("connecting", `connecting to ${label(base)}…`);
    for (;;) {
      let es: EventSource | undefined;
      const candidates = [base, ...known.filter((k) => k !== base && k !== lostFrom), ...(lostFrom && lostFrom !== base ? [lostFrom] : [])];
      for (const c of candidates) {
        try {
          es = await open(c);
          base = c;
          break;
        } catch {
          // try the next node
        }
      }
      if (!es) {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (lostFrom && lostFrom !== base) on.status("failover", `${label(lostFrom)} is unreachable — reconnected via ${label(base)}`);
      else on.status("live", `live via ${label(base)}`);
      await watch(es);
      lostFrom = base;
      on.status("lost", `lost ${label(base)} — reconnecting through another node…`);
      // Start the next round with the other nodes; the lost one is tried last.
      base = known.find((k) => k !== lostFrom) ?? lostFrom;
    }
  })();
}
