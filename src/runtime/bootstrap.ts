import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Address } from "../membership/types.ts";
import { joinAddress } from "./address.ts";

const DEFAULT_PORT = 5000;

/**
 * One bootstrap entry: `http://host:port`, `host:port` or `host` (port 5000).
 * Throws a one-line message for anything else.
 */
export function parseBootstrapEntry(entry: string): { host: string; port: number } {
  let s = entry.trim();
  const scheme = /^(https?):\/\//i.exec(s);
  if (scheme) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new Error(`bad bootstrap URL: "${entry}"`);
    }
    return { host: url.hostname.replace(/^\[|\]$/g, ""), port: url.port ? Number(url.port) : scheme[1]!.toLowerCase() === "https" ? 443 : 80 };
  }
  s = s.replace(/\/+$/, "");
  const m = /^(\[[^\]]+\]|[^:/\s]+)(?::(\d{1,5}))?$/.exec(s);
  if (!m) throw new Error(`bad bootstrap address: "${entry}" (use http://host:port or host:port)`);
  const port = m[2] === undefined ? DEFAULT_PORT : Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`bad port in bootstrap address: "${entry}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** Resolve every entry to HTTP addresses; a DNS name may give several (a headless Service). */
export async function resolveBootstrap(entries: readonly string[]): Promise<Address[]> {
  const out = new Set<Address>();
  await Promise.all(
    entries.map(async (e) => {
      const { host, port } = parseBootstrapEntry(e);
      if (isIP(host)) {
        out.add(joinAddress(host, port));
        return;
      }
      try {
        for (const a of await lookup(host, { all: true })) out.add(joinAddress(a.address, port));
      } catch {
        // Not resolvable yet (a Service with no ready pods): the join loop retries.
      }
    }),
  );
  return [...out];
}
