/**
 * How this node calls other nodes over HTTP: the scheme (https with --tls-cert) and the CA that
 * peers' certificates must chain to, and, in a secured cluster, the node-auth header over the
 * request. Configured once at start by the composition root (one node per process); every
 * node-to-node call (forwards, asks, syncs, joins, health and status checks, /stats polls)
 * goes through `peerFetch`.
 */
export interface PeerHttpOptions {
  /**
   * https to peers, verified against this CA (PEM; none: the system's roots); undefined: plain
   * http. `anyName`: the chain is checked, the address the certificate names is not.
   */
  readonly tls?: { readonly ca?: string; readonly anyName?: boolean };
  /** Headers authenticating a request to `target` ("ip:port") with this body. */
  readonly sign?: (method: string, target: string, path: string, body: string) => Record<string, string>;
}

let options: PeerHttpOptions = {};

let tlsOptions: { ca?: string; checkServerIdentity?: () => undefined } | undefined;

export function configurePeerHttp(o: PeerHttpOptions): void {
  options = o;
  const t = o.tls;
  tlsOptions = t && (t.ca || t.anyName) ? { ...(t.ca ? { ca: t.ca } : {}), ...(t.anyName ? { checkServerIdentity: () => undefined } : {}) } : undefined;
}

export function peerUrl(http: string, path: string): string {
  return `${options.tls ? "https" : "http"}://${http}${path}`;
}

export interface PeerRequest {
  method?: "GET" | "POST";
  body?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Add the node-auth header (routes only nodes may call). */
  sign?: boolean;
}

export function peerFetch(http: string, path: string, r: PeerRequest = {}): Promise<Response> {
  const method = r.method ?? (r.body === undefined ? "GET" : "POST");
  const signed = r.sign && options.sign ? options.sign(method, http, path, r.body ?? "") : undefined;
  const headers = signed ? { ...r.headers, ...signed } : r.headers;
  return fetch(peerUrl(http, path), { method, headers, body: r.body, signal: r.signal, ...(tlsOptions ? { tls: tlsOptions } : {}) });
}
