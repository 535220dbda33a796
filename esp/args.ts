/** Command line of the ESP simulator; every mistake is a one-line UsageError. */
import { parseArgs } from "node:util";
import { joinAddress, parseNodeAddress } from "../src/util/address.ts";
import { UsageError } from "../src/util/usage-error.ts";

export interface SimConfig {
  bootstrap: string[];
  intervalS: number;
  devices: number;
  /** 0 = until SIGTERM. */
  durationS: number;
  minLoad: number;
  maxLoad: number;
  seed: number;
  timeoutMs: number;
  reportJson?: string;
  /** How often the node list is re-read from /peers. */
  refreshMs: number;
  /** After stopping, how long in-flight packets may take to be acknowledged. */
  drainMs: number;
  /** Packets a device holds before dropping the oldest. */
  buffer: number;
  /** Requests a device has in flight at once. */
  window: number;
  verbose: boolean;
}

export const usage =
  "usage: bun esp/simulator.ts --bootstrap http://127.0.0.1:5000 [--interval 5] [--devices N] [--duration S] [--min-load N] [--max-load N] [--seed N] [--timeout-ms N] [--report-json FILE] [--refresh-ms N] [--drain-s N] [--buffer N] [--window N] [--verbose]";

function num(name: string, v: string | undefined, def: number, min: number, max: number, integer = false): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
    throw new UsageError(`--${name}: expected ${integer ? "a whole number" : "a number"} in ${min}..${max}, got "${v}"`);
  return n;
}

export function parseSimArgs(argv: string[]): SimConfig | "help" {
  const strings = [
    "bootstrap",
    "interval",
    "devices",
    "duration",
    "min-load",
    "max-load",
    "seed",
    "timeout-ms",
    "report-json",
    "refresh-ms",
    "drain-s",
    "buffer",
    "window",
  ];
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" }, verbose: { type: "boolean" } };
  for (const s of strings) options[s] = { type: "string" };
  let v: Record<string, string | boolean | undefined>;
  try {
    v = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]!);
  }
  if (v.help) return "help";
  const s = (k: string) => v[k] as string | undefined;
  const raw = s("bootstrap");
  if (!raw) throw new UsageError("--bootstrap is required (e.g. http://127.0.0.1:5000)");
  const bootstrap = raw.split(",").map((b) => normalizeNode(b.trim()));
  const c: SimConfig = {
    bootstrap,
    intervalS: num("interval", s("interval"), 5, 0.001, 86_400),
    devices: num("devices", s("devices"), 1, 1, 100_000, true),
    durationS: num("duration", s("duration"), 0, 0, 1e7),
    minLoad: num("min-load", s("min-load"), 10, 0.001, 1_000_000),
    maxLoad: num("max-load", s("max-load"), 500, 0.001, 1_000_000),
    seed: num("seed", s("seed"), Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1, true),
    timeoutMs: num("timeout-ms", s("timeout-ms"), 2000, 1, 600_000, true),
    reportJson: s("report-json"),
    refreshMs: num("refresh-ms", s("refresh-ms"), 2000, 100, 3_600_000, true),
    drainMs: num("drain-s", s("drain-s"), 30, 0, 3600) * 1000,
    buffer: num("buffer", s("buffer"), 100, 1, 1_000_000, true),
    window: num("window", s("window"), 1, 1, 64, true),
    verbose: v.verbose === true,
  };
  if (c.minLoad > c.maxLoad) throw new UsageError("--min-load must not exceed --max-load");
  if (c.reportJson === "") throw new UsageError("--report-json needs a file name");
  return c;
}

/** "http://host:port", "host:port", "host" → "host:port" (see src/util/address.ts). */
export function normalizeNode(s: string): string {
  try {
    const { host, port } = parseNodeAddress(s);
    return joinAddress(host, port);
  } catch (e) {
    throw new UsageError(`--bootstrap: ${(e as Error).message}`);
  }
}
