/**
 * Node addresses, one rule set for every place a person or a peer names a node (--bootstrap,
 * --ip/--bind, the ESP simulator's --bootstrap, the dsef commands' --node, addresses on the
 * wire):
 *
 * - a host is a DNS name or IPv4 address (letters, digits, `.`, `-`, `_`; at most 253), or an
 *   IPv6 address, written in brackets when a port follows;
 * - `[http[s]://]host[:port][/]`; without a port a URL means its scheme's port (80, 443) and a
 *   bare `host` means the node default, 5000;
 * - hosts are compared lower-case; anything else (paths, user info, a port out of 1..65535) is
 *   an error with a one-line message.
 */
import { isIP } from "node:net";

export const DEFAULT_PORT = 5000;

/** A DNS name or IPv4 address (the character rule; the wire's address fields use it too). */
export const HOST_NAME = "[A-Za-z0-9._-]{1,253}";
/** Shape of a bracketed IPv6 address; `isIP` decides whether it is one. */
export const BRACKETED_IPV6 = "\\[[0-9A-Fa-f:.]{2,45}\\]";

const NAME = new RegExp(`^${HOST_NAME}$`);
const FORM = /^(?:(https?):\/\/)?(\[[^\]\s]*\]|[^:/\s[\]]*)(?::(\d{1,5}))?\/?$/i;

export interface NodeAddress {
  readonly scheme: "http" | "https";
  /** Without brackets, lower-case. */
  readonly host: string;
  readonly port: number;
}

/** `http://host:port`, `host:port` or `host`, by the rules above. Throws a one-line Error. */
export function parseNodeAddress(text: string): NodeAddress {
  const s = text.trim();
  const m = FORM.exec(s);
  const bad = (why: string) => new Error(`not a node address: "${text}" (${why}; use http://host:port, host:port or host)`);
  if (!m) throw bad(/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !/^https?:\/\//i.test(s) ? "only http and https" : "unexpected characters or a path");
  const scheme = m[1] ? (m[1].toLowerCase() as "http" | "https") : undefined;
  const rawHost = m[2]!;
  if (rawHost === "") throw bad("no host");
  let host: string;
  if (rawHost.startsWith("[")) {
    host = rawHost.slice(1, -1).toLowerCase();
    if (isIP(host) !== 6) throw bad("not an IPv6 address in brackets");
  } else {
    if (!NAME.test(rawHost)) throw bad("not a host name or IP address");
    host = rawHost.toLowerCase();
  }
  const port = m[3] !== undefined ? Number(m[3]) : scheme === "https" ? 443 : scheme === "http" ? 80 : DEFAULT_PORT;
  if (port < 1 || port > 65535) throw bad("port out of 1..65535");
  return { scheme: scheme ?? "http", host, port };
}

/** A host on its own (--ip, --bind): a name, IPv4, or IPv6 with or without brackets. Throws a one-line Error. */
export function parseHost(text: string): string {
  const s = text.trim();
  const v6 = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  if (isIP(v6) === 6) return v6.toLowerCase();
  if (NAME.test(s)) return s.toLowerCase();
  throw new Error(`not a host name or IP address: "${text}"`);
}

/** "host:port", with IPv6 hosts in brackets: the form nodes use for each other. */
export function joinAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The inverse of joinAddress. */
export function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(address.slice(i + 1)) };
}
