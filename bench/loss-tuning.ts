#!/usr/bin/env bun
/**
 * False deaths under heavy UDP loss in the deterministic simulator, for candidate timing
 * settings: the evidence behind the `lan` profile's retransmission and anti-entropy figures.
 *   npx bun bench/loss-tuning.ts [--n 10] [--loss 0.3] [--seconds 600] [--seeds 10]
 * The HTTP fallback probe loses TCP segments at the same rate; the anti-entropy sync is not dropped.
 */
import { parseArgs } from "node:util";
import type { Timing } from "../src/membership/timing.ts";
import { SimCluster } from "../src/sim/sim-cluster.ts";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "10" },
    loss: { type: "string", default: "0.3" },
    seconds: { type: "string", default: "600" },
    seeds: { type: "string", default: "10" },
  },
});
const n = Number(values.n);
const loss = Number(values.loss);
const ms = Number(values.seconds) * 1000;
const seeds = Number(values.seeds);

const variants: [string, Partial<Timing>][] = [
  ["as configured (timing.ts)", {}],
  ["retransmitMult 4 (memberlist)", { retransmitMult: 4 }],
  ["retransmitMult 6", { retransmitMult: 6 }],
  ["retransmitMult 8", { retransmitMult: 8 }],
  ["syncInterval 10 s", { syncIntervalMs: 10_000 }],
  ["retransmitMult 6, sync 15 s", { retransmitMult: 6, syncIntervalMs: 15_000 }],
];

console.log(`N=${n}, ${loss * 100} % datagram loss, ${values.seconds} virtual s × ${seeds} seeds`);
console.log("variant                        false deaths  dead reports  suspicions  refutations");
for (const [name, timing] of variants) {
  let deaths = 0;
  let reports = 0;
  let suspicions = 0;
  let refutations = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const c = new SimCluster({ n, seed, preload: true, timing, network: { loss } });
    const dead = new Set<string>();
    c.onEvent(({ observer, event }) => {
      if (event.type === "dead") {
        reports++;
        dead.add(event.member.info.id);
      }
      if (event.type === "suspect" && event.by === c.nodes[observer]!.id) suspicions++;
      if (event.type === "refuted") refutations++;
    });
    c.run(ms);
    deaths += dead.size;
  }
  console.log(`${name.padEnd(30)} ${String(deaths).padEnd(13)} ${String(reports).padEnd(13)} ${String(suspicions).padEnd(11)} ${refutations}`);
}
