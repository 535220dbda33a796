/**
 * The flags of the outsider defences (docs/SECURITY.md, "Outsiders"): safe defaults, who may
 * read and call what, TLS, fair use. Part of the node's one flag table (node-config.ts).
 */
import { parseInteger, splitList } from "./parse-values.ts";

export function parseSwitch(v: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off|)$/i.test(v)) return false;
  throw new Error(`"${v}" is not a yes/no value (1, true, yes / 0, false, no)`);
}

export function parseOrigin(v: string): string {
  if (v === "*") return v;
  const m = /^(https?):\/\/([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?\/?$/.exec(v);
  if (!m) throw new Error(`not an origin: "${v}" (use http(s)://host[:port] or *)`);
  return `${m[1]}://${m[2]!.toLowerCase()}${m[3] ? `:${m[3]}` : ""}`;
}

/** The part of the node's config these flags set. */
export interface OutsiderSettings {
  /** Fair use per client address: requests per second (0 = off) and requests in progress (0 = off). */
  rateLimit: number;
  clientConcurrency: number;
  /** Start even with the published demo cluster key (demos only). */
  insecureDemoKey: boolean;
  /** Origins (besides the cluster's own nodes) whose pages may read this node's GET routes; "*" = any. */
  corsOrigins: string[];
  /** Bearer token for the read-only operator routes (or a file holding it); "" = open. */
  apiToken: string;
  apiTokenFile: string;
  /** Master secret devices' keys derive from (or a file holding it); "" = devices unauthenticated. */
  deviceKey: string;
  deviceKeyFile: string;
  /** TLS on the HTTP port (PEM files); peers are called over https, verified against tlsCa (else the system's roots). */
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
  /** Peers' certificates must chain to tlsCa but need not name their address (containers: one certificate for all). */
  tlsAnyNodeName: boolean;
}

/** One flag (the shape of node-config.ts's table, over the settings it touches). */
interface OutsiderFlag {
  readonly flag: string;
  readonly env: string;
  readonly arg: string;
  readonly help: string;
  readonly boolean?: true;
  readonly apply: (c: OutsiderSettings, v: string) => void;
}

export const outsiderFlags: OutsiderFlag[] = [
  {
    flag: "insecure-demo-key",
    env: "DSEF_INSECURE_DEMO_KEY",
    arg: "",
    boolean: true,
    help: "start even with the published demo cluster key (docker-compose.yml, k8s/secret.yaml); for demos only, logged as an error",
    apply: (c, v) => void (c.insecureDemoKey = parseSwitch(v)),
  },
  {
    flag: "cors-origin",
    env: "DSEF_CORS_ORIGIN",
    arg: "LIST",
    help: "origins (http(s)://host[:port], comma-separated, or *) whose pages may read this node's GET routes; the cluster's own nodes always may (default none)",
    apply: (c, v) => void (c.corsOrigins = splitList(v).map(parseOrigin)),
  },
  {
    flag: "api-token",
    env: "DSEF_API_TOKEN",
    arg: "TOKEN",
    help: "require this token (Authorization: Bearer, or a browser login at /login?token=) on /peers, /status, /metrics, /events, /stats, /monitor; at least 16 characters",
    apply: (c, v) => void (c.apiToken = v),
  },
  {
    flag: "api-token-file",
    env: "DSEF_API_TOKEN_FILE",
    arg: "FILE",
    help: "the same, from a file (first line; mode 0600)",
    apply: (c, v) => void (c.apiTokenFile = v),
  },
  {
    flag: "device-key",
    env: "DSEF_DEVICE_KEY",
    arg: "MASTER",
    help: "authenticate devices: each signs its packets with HMAC(MASTER, device id), printed by `dsef device-key ID`; at least 16 characters; needs a cluster credential",
    apply: (c, v) => void (c.deviceKey = v),
  },
  {
    flag: "device-key-file",
    env: "DSEF_DEVICE_KEY_FILE",
    arg: "FILE",
    help: "the same, from a file (first line; mode 0600)",
    apply: (c, v) => void (c.deviceKeyFile = v),
  },
  {
    flag: "tls-cert",
    env: "DSEF_TLS_CERT",
    arg: "FILE",
    help: "serve HTTPS with this certificate (PEM; its subjectAltName must hold the --ip), and call other nodes over https; see `dsef ca issue --tls`",
    apply: (c, v) => void (c.tlsCert = v),
  },
  { flag: "tls-key", env: "DSEF_TLS_KEY", arg: "FILE", help: "the certificate's private key (PEM, mode 0600)", apply: (c, v) => void (c.tlsKey = v) },
  {
    flag: "tls-ca",
    env: "DSEF_TLS_CA",
    arg: "FILE",
    help: "CA certificate (PEM) other nodes' certificates must chain to (default: the system's roots)",
    apply: (c, v) => void (c.tlsCa = v),
  },
  {
    flag: "tls-any-node-name",
    env: "DSEF_TLS_ANY_NODE_NAME",
    arg: "",
    boolean: true,
    help: "accept any certificate from --tls-ca for a peer, whatever address it names (one certificate shared by all nodes, e.g. containers whose IPs change); needs --tls-ca",
    apply: (c, v) => void (c.tlsAnyNodeName = parseSwitch(v)),
  },
  {
    flag: "rate-limit",
    env: "DSEF_RATE_LIMIT",
    arg: "N",
    help: "HTTP requests per second per client address (IPv6: per /64), bursts of twice that; beyond it 429 + Retry-After; 0 = off (default 1000)",
    apply: (c, v) => void (c.rateLimit = parseInteger(v, 0, 10_000_000)),
  },
  {
    flag: "client-concurrency",
    env: "DSEF_CLIENT_CONCURRENCY",
    arg: "N",
    help: "HTTP requests in progress per client address; beyond it 429; 0 = off (default 256)",
    apply: (c, v) => void (c.clientConcurrency = parseInteger(v, 0, 1_000_000)),
  },
];
