import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { isPrintable } from "../log/printable.ts";
import { parseTagList } from "../membership/tags.ts";
import { type ProfileName, profileNames, profiles, type Timing } from "../membership/timing.ts";
import type { Tags } from "../membership/types.ts";
import { parseHost, parseNodeAddress } from "../util/address.ts";
import { UsageError } from "../util/usage-error.ts";
import { detectIp } from "./detect-ip.ts";
import { type HookSettings, hookFlags } from "./hook-flags.ts";
import { type InsiderSettings, insiderDefaults, insiderFlags } from "./insider-flags.ts";
import { type JitMode, jitFlag } from "./jit-flag.ts";
import { type OutsiderSettings, outsiderFlags } from "./outsider-flags.ts";
import { parseChoice, parseDuration, parseInteger, parsePositive, splitList } from "./parse-values.ts";
import { defaultDataDir } from "./state-dir.ts";

/** Everything an edge node is started with, after flags, environment and defaults are merged. */
export interface NodeConfig extends OutsiderSettings, HookSettings, InsiderSettings {
  ip: string;
  bind: string;
  port: number;
  gossipPort: number;
  capacity: number;
  bootstrap: string[];
  name: string;
  /** --name was given (else the name defaults to ip:port, or in CA mode to the certificate's). */
  nameGiven?: boolean;
  /** Labels announced in the signed alive claim (--tag key=value). */
  tags: Tags;
  /** Forward to peers carrying these tags first (--prefer-tag zone=a); others only when they are full. */
  preferTags: Tags;
  dataDir: string;
  profile: ProfileName;
  timing: Timing;
  logLevel: string;
  logFormat: "json" | "pretty";
  leaveGraceMs: number;
  /** Load model (docs/LOAD.md): saturation limit, forwarding threshold, forward timeout. */
  maxBacklogMs: number;
  forwardAboveMs: number;
  forwardTimeoutMs: number;
  /** What runs each packet (docs/LOAD.md): a module in Workers, a local service, or neither (synthetic). */
  handler: string;
  upstream: string;
  workers: number;
  handlerTimeoutMs: number;
  /** JIT tiers (jit-flag.ts); acted on before the config is parsed. */
  jit: JitMode;
  /** Shared cluster secrets; the first sends, all are accepted (rotation). */
  clusterKeys: string[];
  clusterKeyFile: string;
  /** PEM file of the cluster authority's public key (CA mode). */
  caPubkey: string;
  /** This node's certificate (default <data-dir>/node.cert). */
  certFile: string;
}

export interface FlagSpec {
  readonly flag: string;
  readonly env: string;
  readonly arg: string;
  readonly help: string;
  /** A switch: no value on the command line; its variable takes 1/true/yes or 0/false/no. */
  readonly boolean?: true;
  /** May be given several times; the values reach `apply` one per line (its variable: comma-separated). */
  readonly multiple?: true;
  /** Apply a raw string value to the config being built. */
  readonly apply: (c: NodeConfig, v: string) => void;
}

const timingFlag = (flag: string, key: keyof Timing, help: string, parse: (v: string) => number = parseDuration): FlagSpec => ({
  flag,
  env: envName(flag),
  arg: parse === parseDuration ? "DURATION" : "N",
  help,
  apply: (c, v) => {
    c.timing[key] = parse(v);
  },
});

function envName(flag: string): string {
  return `DSEF_${flag.replace(/-/g, "_").toUpperCase()}`;
}

const flags: FlagSpec[] = [
  {
    flag: "ip",
    env: "DSEF_IP",
    arg: "ADDR",
    help: "address other nodes reach this one at; auto = this host's non-loopback address, as in the image (default 127.0.0.1)",
    apply: (c, v) => void (c.ip = v === "auto" ? detectIp() : parseHost(v)),
  },
  {
    flag: "port",
    env: "DSEF_PORT",
    arg: "PORT",
    help: "HTTP port; gossip uses the same UDP port unless --gossip-port (default 5000)",
    apply: (c, v) => void (c.port = parseInteger(v, 1, 65535)),
  },
  {
    flag: "gossip-port",
    env: "DSEF_GOSSIP_PORT",
    arg: "PORT",
    help: "UDP port for SWIM gossip (default: --port)",
    apply: (c, v) => void (c.gossipPort = parseInteger(v, 1, 65535)),
  },
  {
    flag: "bind",
    env: "DSEF_BIND",
    arg: "ADDR",
    help: "address to listen on (default: --ip; 0.0.0.0 in containers)",
    apply: (c, v) => void (c.bind = parseHost(v)),
  },
  {
    flag: "promised_capacity",
    env: "DSEF_PROMISED_CAPACITY",
    arg: "UNITS",
    help: "work units per second this node can process (default 1000); also --promised-capacity",
    apply: (c, v) => void (c.capacity = parsePositive(v, 1e9)),
  },
  {
    flag: "bootstrap",
    env: "DSEF_BOOTSTRAP",
    arg: "LIST",
    help: "nodes to join: http://host:port, host:port, a comma-separated list, or a DNS name with several addresses",
    apply: (c, v) => void (c.bootstrap = splitList(v).map((e) => (parseNodeAddress(e), e))),
  },
  {
    flag: "name",
    env: "DSEF_NAME",
    arg: "NAME",
    help: "human-readable node name, printable characters only (default ip:port)",
    apply: (c, v) => void (c.name = parseName(v)),
  },
  {
    flag: "tag",
    env: "DSEF_TAGS",
    arg: "KEY=VALUE",
    help: "a label announced with this node (repeatable; DSEF_TAGS=k=v,k=v); change at run time with `dsef tags`",
    multiple: true,
    apply: (c, v) => void (c.tags = parseTagList(v)),
  },
  {
    flag: "prefer-tag",
    env: "DSEF_PREFER_TAGS",
    arg: "KEY=VALUE",
    help: "forward packets to peers with these tags first, to others only when those are full (repeatable)",
    multiple: true,
    apply: (c, v) => void (c.preferTags = parseTagList(v)),
  },
  {
    flag: "data-dir",
    env: "DSEF_DATA_DIR",
    arg: "DIR",
    help: "where the node keeps its identity key and known peers (default $XDG_STATE_HOME/dsef/<port>, else ~/.local/state/dsef/<port>)",
    apply: (c, v) => void (c.dataDir = v),
  },
  {
    flag: "profile",
    env: "DSEF_PROFILE",
    arg: "NAME",
    help: `timing profile: ${profileNames.join(", ")} (default lan: probe 1s, ack timeout 500ms)`,
    apply: (c, v) => {
      c.profile = parseChoice(v, profileNames);
    },
  },
  timingFlag("probe-interval", "probeIntervalMs", "time between probes (profile default)"),
  timingFlag("probe-timeout", "probeTimeoutMs", "direct ack timeout before asking relays"),
  timingFlag("indirect-checks", "indirectChecks", "relays asked with ping-req (default 3)", (v) => parseInteger(v, 0, 16)),
  timingFlag("suspicion-mult", "suspicionMult", "suspicion floor = mult x log10(n) x probe interval", (v) => parsePositive(v, 100)),
  timingFlag("gossip-interval", "gossipIntervalMs", "time between gossip rounds"),
  timingFlag("gossip-fanout", "gossipFanout", "nodes gossiped to per round (default 3)", (v) => parseInteger(v, 1, 64)),
  timingFlag("sync-interval", "syncIntervalMs", "anti-entropy full sync interval"),
  timingFlag("reconnect-interval", "reconnectIntervalMs", "how often to retry a dead member (heals partitions)"),
  {
    flag: "leave-grace",
    env: "DSEF_LEAVE_GRACE",
    arg: "DURATION",
    help: "on SIGTERM, time for the leave to spread (default 500ms)",
    apply: (c, v) => void (c.leaveGraceMs = parseDuration(v)),
  },
  {
    flag: "max-backlog",
    env: "DSEF_MAX_BACKLOG",
    arg: "DURATION",
    help: "queued work (in seconds at capacity) beyond which the node is saturated; all saturated = 503 (default 5s)",
    apply: (c, v) => void (c.maxBacklogMs = parseDuration(v)),
  },
  {
    flag: "forward-above",
    env: "DSEF_FORWARD_ABOVE",
    arg: "DURATION",
    help: "queued work above which a clearly less loaded peer gets the packet (default 500ms)",
    apply: (c, v) => void (c.forwardAboveMs = parseDuration(v)),
  },
  {
    flag: "forward-timeout",
    env: "DSEF_FORWARD_TIMEOUT",
    arg: "DURATION",
    help: "how long a forwarded packet may take before another node is tried (default 1s)",
    apply: (c, v) => void (c.forwardTimeoutMs = parseDuration(v)),
  },
  {
    flag: "handler",
    env: "DSEF_HANDLER",
    arg: "PATH",
    help: "run each packet through handle(packet, ctx) exported by this TS/JS module, in a pool of Workers (default: the synthetic handler)",
    apply: (c, v) => void (c.handler = v),
  },
  {
    flag: "upstream",
    env: "DSEF_UPSTREAM",
    arg: "URL",
    help: "run each packet by POSTing it to this local service; its JSON answer is the result",
    apply: (c, v) => void (c.upstream = parseUpstream(v)),
  },
  {
    flag: "workers",
    env: "DSEF_WORKERS",
    arg: "N",
    help: "packets run at once by --handler Workers or --upstream requests (default: CPU cores)",
    apply: (c, v) => void (c.workers = parseInteger(v, 1, 1024)),
  },
  {
    flag: "handler-timeout",
    env: "DSEF_HANDLER_TIMEOUT",
    arg: "DURATION",
    help: "a packet still running after this fails (its Worker is replaced) (default 30s)",
    apply: (c, v) => void (c.handlerTimeoutMs = parseDuration(v)),
  },
  {
    flag: "cluster-key",
    env: "DSEF_CLUSTER_KEY",
    arg: "KEYS",
    help: "shared cluster secret(s), comma-separated: the first sends, all are accepted (rotation); see docs/SECURITY.md",
    apply: (c, v) => void (c.clusterKeys = splitList(v)),
  },
  {
    flag: "cluster-key-file",
    env: "DSEF_CLUSTER_KEY_FILE",
    arg: "FILE",
    help: "file with the cluster secret(s), one a line, first sends; re-read on SIGHUP",
    apply: (c, v) => void (c.clusterKeyFile = v),
  },
  {
    flag: "ca-pubkey",
    env: "DSEF_CA_PUBKEY",
    arg: "FILE",
    help: "cluster authority public key (PEM): admit only nodes with a certificate it signed",
    apply: (c, v) => void (c.caPubkey = v),
  },
  {
    flag: "cert",
    env: "DSEF_CERT",
    arg: "FILE",
    help: "this node's certificate from `dsef ca issue` (default <data-dir>/node.cert)",
    apply: (c, v) => void (c.certFile = v),
  },
  ...insiderFlags,
  ...outsiderFlags,
  ...hookFlags,
  jitFlag,
  {
    flag: "log-level",
    env: "DSEF_LOG_LEVEL",
    arg: "LEVEL",
    help: "trace, debug, info, warn, error (default info)",
    apply: (c, v) => void (c.logLevel = parseChoice(v, ["trace", "debug", "info", "warn", "error", "silent"])),
  },
  {
    flag: "log-format",
    env: "DSEF_LOG_FORMAT",
    arg: "FMT",
    help: "json or pretty (default: pretty on a terminal, else json)",
    apply: (c, v) => void (c.logFormat = parseChoice(v, ["json", "pretty"] as const)),
  },
];

function parseUpstream(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new Error(`not a URL: "${v}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("must be an http:// or https:// URL");
  return u.href;
}

function parseName(v: string): string {
  if (!isPrintable(v)) throw new Error("a name may hold printable characters only (no newlines or other control characters)");
  if (v.length > 128) throw new Error("a name may be at most 128 characters");
  return v;
}

export function helpText(): string {
  const rows = flags.map((f) => `${`  --${f.flag}${f.arg ? ` ${f.arg}` : ""}`.padEnd(34)}${f.help}  [${f.env}]`);
  return [
    "D-SEF edge node",
    "",
    "usage: bun src/main.ts --ip 127.0.0.1 --port 5000 --promised_capacity 1000 [--bootstrap http://127.0.0.1:5000]",
    "",
    ...rows,
    `${"  --help".padEnd(34)}show this help`,
  ].join("\n");
}

/** Merge defaults < environment < flags. Throws UsageError with a one-line reason. */
export function parseNodeConfig(argv: string[], env: Record<string, string | undefined>, isTTY = false): NodeConfig | "help" {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = { help: { type: "boolean" }, "promised-capacity": { type: "string" } };
  for (const f of flags) options[f.flag] = f.multiple ? { type: "string", multiple: true } : { type: f.boolean ? "boolean" : "string" };
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | string[] | boolean | undefined>;
    values = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, Array.isArray(v) ? v.join("\n") : v]));
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
  if (values.help) return "help";
  if (values["promised-capacity"] !== undefined) values.promised_capacity ??= values["promised-capacity"];

  const c: NodeConfig = {
    ip: "127.0.0.1",
    bind: "",
    port: 5000,
    gossipPort: 0,
    capacity: 1000,
    bootstrap: [],
    name: "",
    tags: {},
    preferTags: {},
    dataDir: "",
    profile: "lan",
    timing: { ...profiles.lan },
    logLevel: "info",
    logFormat: isTTY ? "pretty" : "json",
    leaveGraceMs: 500,
    maxBacklogMs: 5000,
    forwardAboveMs: 500,
    forwardTimeoutMs: 1000,
    handler: "",
    upstream: "",
    workers: Math.max(1, availableParallelism()),
    handlerTimeoutMs: 30_000,
    jit: "auto",
    clusterKeys: [],
    clusterKeyFile: "",
    caPubkey: "",
    certFile: "",
    ...insiderDefaults,
    rateLimit: 1000,
    clientConcurrency: 256,
    insecureDemoKey: false,
    corsOrigins: [],
    apiToken: "",
    apiTokenFile: "",
    deviceKey: "",
    deviceKeyFile: "",
    tlsCert: "",
    tlsKey: "",
    tlsCa: "",
    tlsAnyNodeName: false,
    eventHandlers: [],
    webhooks: [],
    hookTimeoutMs: 30_000,
  };
  // The profile decides the timing defaults that individual flags then override.
  const profileFlag = flags.find((f) => f.flag === "profile")!;
  const profileRaw = (values.profile as string | undefined) ?? env[profileFlag.env];
  if (profileRaw !== undefined) applyOne(c, profileFlag, profileRaw, values.profile !== undefined);
  c.timing = { ...profiles[c.profile] };
  for (const f of flags) {
    if (f === profileFlag) continue;
    const fromFlag = values[f.flag] === true ? "1" : (values[f.flag] as string | undefined);
    const raw = fromFlag ?? env[f.env];
    if (raw !== undefined) applyOne(c, f, raw, fromFlag !== undefined);
  }
  c.nameGiven = c.name !== "";
  c.bind ||= c.ip;
  c.gossipPort ||= c.port;
  c.name ||= `${c.ip}:${c.port}`;
  // Absolute, so logs say where the key is and nothing later depends on the working directory.
  c.dataDir = resolve(c.dataDir || defaultDataDir(c.port, env));
  if (c.clusterKeys.length > 0 && c.clusterKeyFile) throw new UsageError("--cluster-key-file: give either it or --cluster-key, not both");
  if (c.handler && c.upstream) throw new UsageError("give either --handler or --upstream, not both");
  if (c.handlerTimeoutMs <= 0) throw new UsageError("--handler-timeout must be positive");
  if (c.timing.probeTimeoutMs >= c.timing.probeIntervalMs) throw new UsageError("--probe-timeout must be shorter than --probe-interval");
  return c;
}

function applyOne(c: NodeConfig, f: FlagSpec, raw: string, fromFlag: boolean): void {
  try {
    f.apply(c, raw);
  } catch (e) {
    throw new UsageError(`${fromFlag ? `--${f.flag}` : f.env}: ${(e as Error).message}`);
  }
}
