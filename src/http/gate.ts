/**
 * What every route goes through before its handler: fair use per client address (429 +
 * Retry-After beyond the rate or the requests in progress). Refusals are counted by reason.
 */
import type { Server } from "bun";
import { ClientLimits, clientKey } from "./client-limits.ts";
import { problem } from "./json.ts";

type Handler = (req: Request, server: Server<undefined>) => Response | Promise<Response>;
type Methods = Partial<Record<"GET" | "POST", Handler>>;
/** Bun's route table: a handler, a method table, or something static (the page bundle). */
export type Routes = Record<string, unknown>;

export interface GateOptions {
  ratePerS: number;
  concurrency: number;
  /** Addresses tracked at once (bounded table). */
  maxClients?: number;
}

export class Gate {
  readonly limits: ClientLimits;
  readonly refused: Record<string, number> = { rate: 0, concurrency: 0, clients: 0 };

  constructor(opts: GateOptions, private readonly clock: () => number = () => performance.now()) {
    this.limits = new ClientLimits({ ratePerS: opts.ratePerS, burst: Math.max(1, 2 * opts.ratePerS), concurrency: opts.concurrency, maxClients: opts.maxClients ?? 10_000 });
  }

  /** Wrap every handler of a route table (static entries pass as they are). */
  routes(table: Routes): Routes {
    const out: Routes = {};
    for (const [path, entry] of Object.entries(table)) {
      if (typeof entry === "function") out[path] = this.wrap(entry as Handler);
      else if (isMethods(entry)) out[path] = Object.fromEntries(Object.entries(entry).map(([m, h]) => [m, this.wrap(h as Handler)]));
      else out[path] = entry;
    }
    return out;
  }

  wrap(handler: Handler): Handler {
    const off = this.limits.opts.ratePerS <= 0 && this.limits.opts.concurrency <= 0;
    if (off) return handler;
    return (req, server) => {
      const client = clientKey(server.requestIP(req)?.address ?? "?");
      const a = this.limits.admit(client, this.clock());
      if (!a.ok) {
        this.refused[a.reason] = (this.refused[a.reason] ?? 0) + 1;
        const why = a.reason === "rate" ? "too many requests from this address" : a.reason === "concurrency" ? "too many requests in progress from this address" : "too many clients";
        return problem(429, `${why}; retry after ${a.retryAfterS} s`, { "retry-after": String(a.retryAfterS) });
      }
      let out: Response | Promise<Response>;
      try {
        out = handler(req, server);
      } catch (e) {
        this.limits.release(client);
        throw e;
      }
      if (out instanceof Promise) return out.finally(() => this.limits.release(client));
      this.limits.release(client);
      return out;
    };
  }
}

function isMethods(v: unknown): v is Methods {
  return typeof v === "object" && v !== null && !(v instanceof Response) && Object.keys(v).length > 0 && Object.keys(v).every((k) => k === "GET" || k === "POST") && Object.values(v).every((h) => typeof h === "function");
}
