/**
 * Request counters and the set of recently seen devices, kept apart from prom-client so the
 * dashboard's cluster view can read and merge them. Pure: the caller passes the clock.
 */
export type RequestOutcome = "accepted" | "forwarded" | "rejected";

export interface RequestTotals {
  accepted: number;
  forwarded: number;
  rejected: number;
}

export class RequestStats {
  readonly totals: RequestTotals = { accepted: 0, forwarded: 0, rejected: 0 };
  /** device id -> last time seen; Map order = least recently seen first. */
  readonly #devices = new Map<string, number>();

  constructor(
    /** A device counts as active this long after its last request. */
    readonly windowMs = 60_000,
    /** Bound on remembered devices (ids come from clients; memory must not). */
    private readonly maxDevices = 10_000,
  ) {}

  record(outcome: RequestOutcome, now: number, deviceId?: string): void {
    this.totals[outcome]++;
    if (deviceId === undefined || deviceId === "") return;
    const id = deviceId.slice(0, 128);
    this.#devices.delete(id);
    this.#devices.set(id, now);
    if (this.#devices.size > this.maxDevices) {
      const oldest = this.#devices.keys().next().value;
      if (oldest !== undefined) this.#devices.delete(oldest);
    }
  }

  /** Ids of devices seen within the window, most recent last. */
  activeDevices(now: number): string[] {
    for (const [id, at] of this.#devices) {
      if (now - at <= this.windowMs) break;
      this.#devices.delete(id);
    }
    return [...this.#devices.keys()];
  }
}

/**
 * Classify a /handle_request reply: 503 is a rejection, work taken here is accepted, work that
 * another node took is forwarded; an acknowledged duplicate is not a new request (undefined).
 */
export function requestOutcome(status: number, body: { handled_by?: unknown; duplicate?: unknown }, selfHttp: string): RequestOutcome | undefined {
  if (status === 503) return "rejected";
  if (status !== 200 || body.duplicate === true) return undefined;
  return body.handled_by === selfHttp ? "accepted" : "forwarded";
}
