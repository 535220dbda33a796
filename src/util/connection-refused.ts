/**
 * Did a fetch or socket call fail because nothing listens at the address? That is a definite
 * answer (the process is gone), unlike a timeout or a reset. Bun's fetch says
 * "ConnectionRefused"; Node's sockets, and Bun in some paths, say "ECONNREFUSED".
 */
export function isConnectionRefused(e: unknown): boolean {
  const code = (e as { code?: unknown } | null | undefined)?.code;
  return code === "ConnectionRefused" || code === "ECONNREFUSED";
}
