/**
 * Docker HEALTHCHECK: GET /health on this container's node. The image has no curl, and bun is
 * already there. Exit 0 = healthy, 1 = unhealthy (Docker's contract).
 */
const port = Number(process.env.DSEF_PORT ?? 5000);
// With TLS on (DSEF_TLS_CERT) the node speaks only https; its certificate names its pod/container
// address, not 127.0.0.1, and liveness is all this asks, so the certificate is not checked here.
const tls = Boolean(process.env.DSEF_TLS_CERT);
try {
  const res = await fetch(`${tls ? "https" : "http"}://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000), ...(tls ? { tls: { rejectUnauthorized: false } } : {}) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
