/** Command line of the ESP simulator; every mistake is a one-line UsageError. */
import { parseArgs } from "node:util";
import { readFlagFile } from "../src/config/flag-files.ts";
import { parseTagList } from "../src/membership/tags.ts";
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
  /** --device-key / DSEF_DEVICE_KEY: the master the devices' keys are derived from (as the nodes do). */
  deviceMaster?: string;
  /** --device-key-file: each device's own key ("DEVICE_ID KEY" per line, from dsef device-key); these devices are simulated. */
  deviceKeys?: Map<string, string>;
  /** --tls-ca: PEM of the CA the nodes' certificates chain to; https to the nodes. */
  tlsCa?: string;
  /** --tls-any-node-name: the chain is checked, not the address a node's certificate names (one certificate shared by every node). */
  tlsAnyName: boolean;
  /** --prefer-tag: send to nodes carrying these tags first; others when those are down or full. */
  preferTags?: Record<string, string>;
}

export const usage =
  "usage: bun esp/simulator.ts --bootstrap http://127.0.0.1:5000 [--interval 5] [--devices N] [--duration S] [--min-load N] [--max-load N] [--seed N] [--timeout-ms N] [--report-json FILE] [--refresh-ms N] [--drain-s N] [--buffer N] [--window N] [--device-key MASTER | --device-key-file FILE] [--tls-ca FILE [--tls-any-node-name]] [--prefer-tag KEY=VALUE ...] [--verbose]";

function num(name: string, v: string | undefined, def: number, min: number, max: number, integer = false): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
    throw new UsageError(`--${name}: expected ${integer ? "a whole number" : "a number"} in ${min}..${max}, got "${v}"`);
  return n;
}

export function parseSimArgs(argv: string[], env: Record<string, string | undefined> = {}): SimConfig | "help" {
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
    "device-key",
    "device-key-file",
    "tls-ca",
  ];
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
    help: { type: "boolean" },
    verbose: { type: "boolean" },
    "tls-any-node-name": { type: "boolean" },
    "prefer-tag": { type: "string", multiple: true },
  };
  for (const s of strings) options[s] = { type: "string" };
  let v: Record<string, string | string[] | boolean | undefined>;
  try {
    v = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as typeof v;
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
    tlsAnyName: v["tls-any-node-name"] === true || /^(1|true|yes)$/i.test(env.DSEF_TLS_ANY_NODE_NAME ?? ""),
  };
  const master = s("device-key") ?? env.DSEF_DEVICE_KEY;
  if (master !== undefined && s("device-key-file") !== undefined) throw new UsageError("--device-key-file: give either it or --device-key, not both");
  if (master !== undefined) c.deviceMaster = master;
  if (s("device-key-file") !== undefined) {
    c.deviceKeys = parseDeviceKeys(readFlagFile("--device-key-file", s("device-key-file")!));
    if (s("devices") === undefined) c.devices = c.deviceKeys.size;
  }
  const tlsCa = s("tls-ca") ?? (env.DSEF_TLS_CA || undefined);
  if (tlsCa !== undefined) c.tlsCa = readFlagFile("--tls-ca", tlsCa);
  const prefer = (v["prefer-tag"] as string[] | undefined) ?? (env.DSEF_PREFER_TAGS ? [env.DSEF_PREFER_TAGS] : []);
  if (prefer.length > 0) {
    try {
      c.preferTags = parseTagList(prefer.join(","));
    } catch (e) {
      throw new UsageError(`--prefer-tag: ${(e as Error).message}`);
    }
  }
  if (c.tlsAnyName && c.tlsCa === undefined) throw new UsageError("--tls-any-node-name needs --tls-ca (the chain is still checked)");
  if (c.minLoad > c.maxLoad) throw new UsageError("--min-load must not exceed --max-load");
  if (c.reportJson === "") throw new UsageError("--report-json needs a file name");
  return c;
}

/** "DEVICE_ID KEY" per line (# comments allowed), as `dsef device-key` prints the key. */
export function parseDeviceKeys(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const m = /^(\S{1,128})\s+([A-Za-z0-9_-]{43})$/.exec(t);
    if (!m) throw new UsageError(`--device-key-file: expected "DEVICE_ID KEY" lines, got "${t.slice(0, 60)}"`);
    keys.set(m[1]!, m[2]!);
  }
  if (keys.size === 0) throw new UsageError("--device-key-file: no device keys in the file");
  return keys;
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
