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
