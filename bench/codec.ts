/**
 * Datagram codec cost, per datagram: protocol version 1 (msgpack, a JavaScript library) against
 * version 2 (JSON, the runtime's native parser), encode and decode (schema checks included), in
 * the JIT tiers a node runs with: lean (`dsef node`'s default, no optimizing JIT) and full.
 * Run: npx bun bench/codec.ts [--iterations N]
 */
import type { Message } from "../src/membership/types.ts";
import { decodeMessage, encodeMessage } from "../src/wire/codec.ts";

const args = process.argv.slice(2);
const iterations = Number(args[args.indexOf("--iterations") + 1] || 5000);
const TIER = "DSEF_BENCH_CODEC_TIER";

/** The datagrams a forming cluster sends most: gossip full of alive claims, and probes. */
const at = (i: number) => `10.0.0.${i}:7946`;
const claims: Message = {
  type: "gossip",
  from: "ca017729947a6152",
  updates: Array.from({ length: 8 }, (_, i) => ({
    kind: "alive" as const,
    incarnation: 1_796_087_423 + i,
    info: { id: `9f00642f5d934c5${i}`, name: at(i), gossip: at(i), http: at(i), capacity: 1000, protocol: { min: 1, max: 2 } },
  })),
};
const ping: Message = { type: "ping", seq: 4711, from: "ca017729947a6152", to: "9f00642f5d934c50", nonce: new Uint8Array(16).fill(7), updates: [] };
const cases = { "gossip, 8 alive claims": claims, "ping, no updates": ping };

function microseconds(f: () => unknown): number {
  for (let i = 0; i < 300; i++) f();
  const start = performance.now();
  for (let i = 0; i < iterations; i++) f();
  return ((performance.now() - start) / iterations) * 1000;
}

function measure(): string[] {
  const rows: string[] = [];
  for (const [name, m] of Object.entries(cases)) {
    for (const version of [1, 2]) {
      const bytes = encodeMessage(m, version);
      const enc = microseconds(() => encodeMessage(m, version));
      const dec = microseconds(() => decodeMessage(bytes));
      rows.push(
        `${name.padEnd(24)} v${version} ${String(bytes.byteLength).padStart(5)} B  encode ${enc.toFixed(1).padStart(6)} µs  decode ${dec.toFixed(1).padStart(6)} µs`,
      );
    }
  }
  return rows;
}

if (process.env[TIER]) {
  console.log(measure().join("\n"));
} else {
  console.log(`Datagram codec, ${iterations} iterations each; bun ${Bun.version}`);
  for (const [tier, env] of [
    ["lean JIT (dsef node's default: BUN_JSC_useDFGJIT=0)", { BUN_JSC_useDFGJIT: "0" }],
    ["full JIT", {}],
  ] as const) {
    const run = Bun.spawnSync([process.execPath, import.meta.path, ...args], { env: { ...process.env, ...env, [TIER]: "1" } });
    console.log(`\n${tier}\n${run.stdout.toString().trimEnd()}`);
  }
}
