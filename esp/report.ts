/** What the simulator counts, and the summary it prints and writes. */
export interface Tally {
  /** Packets the devices made. */
  sent: number;
  acknowledged: number;
  /** Dropped from a full send buffer (the oldest first): never sent, not lost in the network. */
  dropped: number;
  /** HTTP requests made (every attempt). */
  requests: number;
  /** Acknowledgements that asked the device to slow down. */
  paced: number;
  retries: number;
  failovers: number;
  redirects: number;
  duplicates: number;
  rejected_503: number;
  client_errors: number;
  units_sent: number;
  latenciesMs: number[];
  /** First attempt to acknowledgement, for packets that had to fail over. */
  failoverMs: number[];
  handledBy: Map<string, number>;
}

export function newTally(): Tally {
  return {
    sent: 0,
    acknowledged: 0,
    dropped: 0,
    requests: 0,
    paced: 0,
    retries: 0,
    failovers: 0,
    redirects: 0,
    duplicates: 0,
    rejected_503: 0,
    client_errors: 0,
    units_sent: 0,
    latenciesMs: [],
    failoverMs: [],
    handledBy: new Map(),
  };
}

/** Nearest-rank percentile of an unsorted list (0 when empty). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** How evenly devices got their packets acknowledged. */
export function spreadOf(acked: readonly number[]) {
  const mean = acked.length ? acked.reduce((a, b) => a + b, 0) / acked.length : 0;
  const min = acked.length ? Math.min(...acked) : 0;
  const max = acked.length ? Math.max(...acked) : 0;
  return { min, mean: r1(mean), max, spread: mean > 0 ? r1((100 * Math.max(max - mean, mean - min)) / mean) : 0 };
}

/**
 * `buffered`: still in the devices' buffers at the end (not sent for want of time); `lost`: made
 * and neither acknowledged, dropped nor still buffered — sent and given up on.
 */
export function summary(t: Tally, end: { buffered: number; perDevice: readonly number[] }, extra: Record<string, unknown>) {
  return {
    ...extra,
    sent: t.sent,
    acknowledged: t.acknowledged,
    buffered: end.buffered,
    dropped: t.dropped,
    requests: t.requests,
    requests_per_ack: t.acknowledged ? Math.round((100 * t.requests) / t.acknowledged) / 100 : 0,
    paced: t.paced,
    retries: t.retries,
    failovers: t.failovers,
    redirects: t.redirects,
    duplicates: t.duplicates,
    rejected_503: t.rejected_503,
    client_errors: t.client_errors,
    lost: t.sent - t.acknowledged - end.buffered - t.dropped,
    units_sent: r1(t.units_sent),
    latency_ms: {
      p50: r1(percentile(t.latenciesMs, 50)),
      p95: r1(percentile(t.latenciesMs, 95)),
      p99: r1(percentile(t.latenciesMs, 99)),
      max: r1(Math.max(0, ...t.latenciesMs)),
    },
    failover_ms: {
      count: t.failoverMs.length,
      p50: r1(percentile(t.failoverMs, 50)),
      p99: r1(percentile(t.failoverMs, 99)),
      max: r1(Math.max(0, ...t.failoverMs)),
    },
    handled_by: Object.fromEntries([...t.handledBy].sort()),
    per_device_acknowledged: { ...spreadOf(end.perDevice), ...(end.perDevice.length <= 1000 ? { each: end.perDevice } : {}) },
  };
}

export function formatSummary(s: ReturnType<typeof summary>): string {
  const l = s.latency_ms;
  const f = s.failover_ms;
  const d = s.per_device_acknowledged;
  return [
    `sent ${s.sent}, acknowledged ${s.acknowledged}, lost ${s.lost}, still buffered ${s.buffered}, dropped ${s.dropped}`,
    `requests ${s.requests} (${s.requests_per_ack} per acknowledged packet), paced ${s.paced}; per device acknowledged min ${d.min} mean ${d.mean} max ${d.max} (±${d.spread} %)`,
    `retries ${s.retries}, failovers ${s.failovers}, redirects ${s.redirects}, duplicates acknowledged ${s.duplicates}, 503s ${s.rejected_503}, 4xx ${s.client_errors}`,
    `latency ms p50 ${l.p50}, p95 ${l.p95}, p99 ${l.p99}, max ${l.max}`,
    `failover ms (${f.count} packets) p50 ${f.p50}, p99 ${f.p99}, max ${f.max}`,
    `handled by ${Object.entries(s.handled_by)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  ].join("\n");
}
