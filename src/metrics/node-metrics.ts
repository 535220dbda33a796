/**
 * The node's Prometheus metrics (prom-client, one registry per node). Protocol and transport
 * figures are read from the core's and the socket's own counters at scrape time; request
 * figures and round trips are pushed in as they happen.
 *
 * The composition root makes one per node and plugs in the request path (load sharing), one
 * line per answered request:
 *   metrics.recordRequest("accepted", { seconds, deviceId });
 *   metrics.recordRequest("forwarded", { seconds, deviceId, to: "ip:port" });
 * (`requestOutcome(status, body, selfHttp)` classifies a reply into these), and, as the work
 * queue knows its backlog better than the last gossiped figure, `new NodeMetrics(node, () => queue.backlog)`.
 */

import type { Message } from "../membership/types.ts";
import type { EdgeNode } from "../runtime/edge-node.ts";
import { Counter, Gauge, Histogram, Registry } from "../util/prom.ts";
import { memberTableStats } from "../wire/sync-schema.ts";
import { ProbeRtt } from "./probe-rtt.ts";
import { type RequestOutcome, RequestStats } from "./request-stats.ts";

export { type RequestOutcome, requestOutcome } from "./request-stats.ts";

export interface RequestRecord {
  /** Time from receiving the request to answering it. */
  seconds?: number;
  deviceId?: string;
  /** For "forwarded": where the request went (ip:port). */
  to?: string;
}

export type RequestListener = (outcome: RequestOutcome, r: RequestRecord) => void;

const STATES = ["alive", "suspect", "dead", "left"] as const;

export class NodeMetrics {
  readonly registry = new Registry();
  readonly requests = new RequestStats();
  readonly #rtt = new ProbeRtt();
  readonly #probeRtt: Histogram;
  readonly #requestTotal: Counter<"outcome">;
  readonly #requestSeconds: Histogram;
  readonly #requestListeners = new Set<RequestListener>();
  #backlog: (() => number) | undefined;

  constructor(
    readonly node: EdgeNode,
    /** Where the backlog is known exactly (the work queue); else the last gossiped figure. */
    backlogSource?: () => number,
  ) {
    this.#backlog = backlogSource;
    const registers = [this.registry];
    const swim = node.swim;
    const self = () => swim.member(node.identity.id);

    new Gauge({
      name: "dsef_members",
      help: "Members this node knows, by state (itself included).",
      labelNames: ["state"],
      registers,
      collect() {
        const c: Record<string, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
        for (const m of swim.members()) c[m.state] = (c[m.state] ?? 0) + 1;
        for (const s of STATES) this.set({ state: s }, c[s] ?? 0);
      },
    });
    const protocol: [string, string, keyof typeof swim.stats][] = [
      ["dsef_probes_total", "Direct probes (pings) started.", "probes"],
      ["dsef_ping_req_total", "Indirect probe requests (ping-req) sent to relays.", "pingReqs"],
      ["dsef_relayed_total", "Pings relayed for other nodes' ping-req.", "relayed"],
      ["dsef_nacks_sent_total", "Nacks sent as a relay.", "nacksSent"],
      ["dsef_suspicions_total", "Members this node started suspecting.", "suspicions"],
      ["dsef_refutations_total", "Times this node refuted a suspicion or death about itself.", "refutations"],
      ["dsef_deaths_total", "Members this node declared or learned dead.", "deaths"],
      ["dsef_messages_in_total", "Protocol messages handled by the core.", "messagesIn"],
      ["dsef_misdirected_total", "Pings meant for another identity at this address.", "misdirected"],
      [
        "dsef_invalid_incarnations_total",
        "Claims dropped for naming an incarnation their member never announced (suspect/dead/left above its latest alive) or beyond the clock's ceiling.",
        "invalidIncarnations",
      ],
      [
        "dsef_unproven_acks_total",
        "Answers to this node's probes that did not prove the probed member answered in person (wrong nonce, missing or bad signature, another identity at its address).",
        "unprovenAcks",
      ],
      [
        "dsef_address_conflicts_total",
        "Alive claims for an address another member holds, refused until the claimant answers at that address (or the holder is dead by this node's own probe).",
        "addressConflicts",
      ],
      ["dsef_ping_req_refused_total", "Ping-reqs ignored as a relay: the target is no known member, or not at the addresses known for it.", "pingReqsRefused"],
    ];
    for (const [name, help, key] of protocol) mirrorCounter(registers, name, help, () => swim.stats[key]);

    const t = () => node.transport?.stats;
    mirrorCounter(registers, "dsef_packets_total", "UDP datagrams by direction.", () => ({ in: t()?.packetsIn ?? 0, out: t()?.packetsOut ?? 0 }), "direction");
    mirrorCounter(registers, "dsef_bytes_total", "UDP bytes by direction.", () => ({ in: t()?.bytesIn ?? 0, out: t()?.bytesOut ?? 0 }), "direction");
    mirrorCounter(registers, "dsef_packets_dropped_total", "Inbound datagrams dropped, by reason.", () => ({ ...(t()?.drops ?? {}) }), "reason");
    mirrorCounter(
      registers,
      "dsef_updates_dropped_total",
      "Single updates or member-table entries refused (bad or unknown) while the rest of their datagram or table was kept.",
      () => ({ datagram: t()?.updatesDropped ?? 0, table: memberTableStats.entriesDropped }),
      "via",
    );
    mirrorCounter(registers, "dsef_send_errors_total", "UDP sends that failed.", () => t()?.sendErrors ?? 0);

    this.#probeRtt = new Histogram({
      name: "dsef_probe_rtt_seconds",
      help: "Round trip from sending a ping to its first ack (direct and relayed probes).",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    node.onTraffic((dir, _peer, message) => this.#onTraffic(dir, message));

    const backlog = () => this.#backlog?.() ?? self()?.load?.backlog ?? 0;
    const capacity = () => self()?.info.capacity ?? node.config.capacity;
    new Gauge({
      name: "dsef_capacity_units",
      help: "Promised capacity in work units per second.",
      registers,
      collect() {
        this.set(capacity());
      },
    });
    new Gauge({
      name: "dsef_backlog_units",
      help: "Work queued on this node (current_load), in work units.",
      registers,
      collect() {
        this.set(backlog());
      },
    });
    new Gauge({
      name: "dsef_load_ratio",
      help: "Backlog / capacity: seconds of work queued (load_ratio).",
      registers,
      collect() {
        const c = capacity();
        this.set(c > 0 ? backlog() / c : 0);
      },
    });
    new Gauge({
      name: "dsef_peer_load_ratio",
      help: "Load ratio of each alive or suspect member as last gossiped.",
      labelNames: ["peer"],
      registers,
      collect() {
        this.reset();
        for (const m of swim.members()) {
          if (!m.load || (m.state !== "alive" && m.state !== "suspect")) continue;
          this.set({ peer: m.info.http }, m.info.capacity > 0 ? m.load.backlog / m.info.capacity : 0);
        }
      },
    });
    new Gauge({
      name: "dsef_health_score",
      help: "Local health awareness (0 is healthy; higher slows probing).",
      registers,
      collect() {
        this.set(swim.healthScore);
      },
    });

    this.#requestTotal = new Counter({
      name: "dsef_requests_total",
      help: "Requests by outcome: accepted here, forwarded to a peer, rejected (503).",
      labelNames: ["outcome"],
      registers,
    });
    for (const o of ["accepted", "forwarded", "rejected"] as const) this.#requestTotal.inc({ outcome: o }, 0);
    this.#requestSeconds = new Histogram({
      name: "dsef_request_duration_seconds",
      help: "Time to answer POST /handle_request (any outcome).",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    const requests = this.requests;
    new Gauge({
      name: "dsef_devices_active",
      help: `Devices that sent a request to this node in the last ${requests.windowMs / 1000} s.`,
      registers,
      collect() {
        this.set(requests.activeDevices(Date.now()).length);
      },
    });
  }

  /** Count one request the node answered. */
  recordRequest(outcome: RequestOutcome, r: RequestRecord = {}): void {
    this.requests.record(outcome, Date.now(), r.deviceId);
    this.#requestTotal.inc({ outcome });
    if (r.seconds !== undefined && Number.isFinite(r.seconds) && r.seconds >= 0) this.#requestSeconds.observe(r.seconds);
    for (const fn of this.#requestListeners) fn(outcome, r);
  }

  /** Subscribe to recorded requests (the dashboard's forward timeline); returns the unsubscribe function. */
  onRequest(fn: RequestListener): () => void {
    this.#requestListeners.add(fn);
    return () => this.#requestListeners.delete(fn);
  }

  /** Read the backlog from the work queue instead of the last gossiped figure. */
  useBacklog(fn: () => number): void {
    this.#backlog = fn;
  }

  observeProbeRtt(seconds: number): void {
    this.#probeRtt.observe(seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  #onTraffic(dir: "in" | "out", message: Message): void {
    const now = performance.now();
    if (dir === "out" && message.type === "ping") this.#rtt.sent(message.seq, now);
    else if (dir === "in" && message.type === "ack") {
      const ms = this.#rtt.acked(message.seq, now);
      if (ms !== undefined) this.#probeRtt.observe(ms / 1000);
    }
  }
}

/** A counter whose value is read from an existing running total at scrape time. */
export function mirrorCounter(registers: Registry[], name: string, help: string, read: () => number | Record<string, number>, label?: string): void {
  new Counter({
    name,
    help,
    labelNames: label ? [label] : [],
    registers,
    collect() {
      this.reset();
      const v = read();
      if (typeof v === "number") this.inc(v);
      else for (const [k, n] of Object.entries(v)) this.inc({ [label!]: k }, n);
    },
  });
}
