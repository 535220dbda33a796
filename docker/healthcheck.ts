/**
 * Docker HEALTHCHECK: GET /health on this container's node. The image has no curl, and bun is
 * already there. Exit 0 = healthy, 1 = unhealthy (Docker's contract).
 */
const port = Number(process.env.DSEF_PORT ?? 5000);
try {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
