import type { PeerTrust } from "../load/peer-trust.ts";
import { Counter, Gauge, type Registry } from "../util/prom.ts";

/** Forward audits and distrusted peers (load/peer-trust.ts), read at scrape time. */
export function peerTrustMetrics(registry: Registry, trust: PeerTrust): void {
  const registers = [registry];
  new Counter({
    name: "dsef_forward_audits_total",
    help: "Audits of peers that accepted forwarded packets: their idempotency records matched, did not, or they did not answer.",
    labelNames: ["result"],
    registers,
    collect() {
      this.reset();
      for (const [k, n] of Object.entries(trust.stats.audits)) this.inc({ result: k }, n);
    },
  });
  new Counter({
    name: "dsef_forwards_withheld_total",
    help: "Forwards not made because the target is distrusted.",
    registers,
    collect() {
      this.reset();
      this.inc(trust.stats.forwardsWithheld);
    },
  });
  new Gauge({
    name: "dsef_peers_distrusted",
    help: "Peers not forwarded to because their records did not match what they accepted.",
    registers,
    collect() {
      this.set(trust.distrusted);
    },
  });
}
