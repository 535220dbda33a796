/**
 * A peer answered and refused us: it wants a credential we lack, or rejects ours (the join
 * handshake, an authenticated /sync), or we reject its (status 0). Unlike an unreachable peer,
 * trying again the same way will not help, so callers tell the two apart with `instanceof`:
 * a refusal is worth a warning, and in CA mode a refused sync falls back to the handshake.
 */
export class PeerRefusedError extends Error {
  constructor(
    /** What was refused. */
    readonly action: "join" | "sync",
    /** The peer's "ip:port". */
    readonly peer: string,
    /** The peer's HTTP status; 0 when the peer failed our checks. */
    readonly status: number,
    readonly reason: string,
  ) {
    super(`${action} via ${peer} refused (${status ? `HTTP ${status}` : "peer not trusted"}): ${reason}`);
  }
}
