/**
 * What every route goes through around its handler:
 * - fair use per client address (429 + Retry-After beyond the rate or the requests in progress);
 * - POST bodies must be declared application/json (415 otherwise): a page on another origin
 *   cannot send that without a CORS preflight, which this node never grants;
 * - with --api-token, the operator's read routes need it (401 otherwise);
 * - GET answers carry CORS headers only for allowed origins (the cluster's own nodes, so a
 *   dashboard can fail over, and those configured with --cors-origin), never `*` by default.
 * Refusals are counted by reason.
 */
import type { Server } from "bun";
import { type ApiAuth, LOGIN_HELP } from "./api-auth.ts";
import { discardUnread } from "./body.ts";
import { ClientLimits, clientKey } from "./client-limits.ts";
import { problem } from "./json.ts";

type Handler = (req: Request, server: Server<undefined>) => Response | Promise<Response>;
type Methods = Partial<Record<"GET" | "POST", Handler>>;
/** Bun's route table: a handler, a method table, or something static (the page bundle). */
export type Routes = Record<string, unknown>;

export interface GateOptions {
  ratePerS: number;
  concurrency: number;
  /** May a page from this origin read GET answers? The access-control-allow-origin value, or undefined. */
  corsFor?: (origin: string) => string | undefined;
  /**
   * Who may read what. `operator` routes need the API token when one is set (`ticketed` ones
   * take an /events ticket too); `nodeOnly` routes need a node's authentication in a secured
   * cluster (or the API token). A node's authenticated request may read every one of them.
   */
  auth?: { api?: ApiAuth; node?: (req: Request) => boolean; operator: readonly string[]; nodeOnly: readonly string[]; ticketed: readonly string[] };
  /** Addresses tracked at once (bounded table). */
  maxClients?: number;
  /**
   * A request the per-address limits do not apply to: another node of the cluster calling as a
   * node (forwards, backups' hand-offs, asks), which the route then authenticates in full.
   */
  exempt?: (client: string, req: Request) => boolean;
}

export class Gate {
  readonly limits: ClientLimits;
  readonly refused: Record<string, number> = { rate: 0, concurrency: 0, clients: 0, content_type: 0, token: 0 };
  readonly #corsFor: (origin: string) => string | undefined;
  readonly #auth: GateOptions["auth"];
  readonly #exempt: GateOptions["exempt"];

  constructor(
    opts: GateOptions,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.#corsFor = opts.corsFor ?? (() => undefined);
    this.#auth = opts.auth;
    this.#exempt = opts.exempt;
    this.limits = new ClientLimits({
      ratePerS: opts.ratePerS,
      burst: Math.max(1, 2 * opts.ratePerS),
      concurrency: opts.concurrency,
      maxClients: opts.maxClients ?? 10_000,
    });
  }

  /** Wrap every handler of a route table (static entries pass as they are). */
  routes(table: Routes): Routes {
    const out: Routes = {};
    for (const [path, entry] of Object.entries(table)) {
      const read = (h: Handler) => this.#cors(this.#token(path, h));
      if (typeof entry === "function") out[path] = drainRefused(this.wrap(read(entry as Handler)));
      else if (isMethods(entry))
        out[path] = Object.fromEntries(
          Object.entries(entry).map(([m, h]) => [m, drainRefused(this.wrap(m === "POST" ? this.#jsonOnly(h as Handler) : read(h as Handler)))]),
        );
      else out[path] = entry;
    }
    return out;
  }

  #jsonOnly(handler: Handler): Handler {
    return (req, server) => {
      if (isJson(req.headers.get("content-type"))) return handler(req, server);
      this.refused.content_type = (this.refused.content_type ?? 0) + 1;
      return problem(415, UNSUPPORTED_MEDIA);
    };
  }

  #token(path: string, handler: Handler): Handler {
    const auth = this.#auth;
    if (!auth) return handler;
    const { api, node } = auth;
    const nodeOnly = auth.nodeOnly.includes(path);
    const guarded = nodeOnly ? api !== undefined || node !== undefined : auth.operator.includes(path) && api !== undefined;
    if (!guarded) return handler;
    const ticketOk = auth.ticketed.includes(path);
    return (req, server) => {
      if (api?.allows(req, ticketOk) || node?.(req)) return handler(req, server);
      this.refused.token = (this.refused.token ?? 0) + 1;
      return problem(401, api ? LOGIN_HELP : "node authentication required: this route is for the cluster's nodes", {
        "www-authenticate": 'Bearer realm="dsef"',
      });
    };
  }

  #cors(handler: Handler): Handler {
    const withOrigin = (res: Response, allow: string): Response => {
      res.headers.set("access-control-allow-origin", allow);
      // The dashboard's stream sends its login cookie to another node on the same host ("*" never gets it).
      if (allow !== "*") res.headers.set("access-control-allow-credentials", "true");
      res.headers.append("vary", "origin");
      return res;
    };
    return (req, server) => {
      const origin = req.headers.get("origin");
      const allow = origin === null ? undefined : this.#corsFor(origin);
      if (allow === undefined) return handler(req, server);
      const out = handler(req, server);
      return out instanceof Promise ? out.then((r) => withOrigin(r, allow)) : withOrigin(out, allow);
    };
  }

  wrap(handler: Handler): Handler {
    const off = this.limits.opts.ratePerS <= 0 && this.limits.opts.concurrency <= 0;
    if (off) return handler;
    return (req, server) => {
      const client = clientKey(server.requestIP(req)?.address ?? "?");
      if (this.#exempt?.(client, req)) return handler(req, server);
      const a = this.limits.admit(client, this.clock());
      if (!a.ok) {
        this.refused[a.reason] = (this.refused[a.reason] ?? 0) + 1;
        const why =
          a.reason === "rate"
            ? "too many requests from this address"
            : a.reason === "concurrency"
              ? "too many requests in progress from this address"
              : "too many clients";
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

export const UNSUPPORTED_MEDIA = "POST bodies must be JSON: send content-type: application/json";

/** "application/json", with or without parameters, any case. */
export function isJson(contentType: string | null): boolean {
  return contentType !== null && /^application\/json\s*(;|$)/i.test(contentType);
}

function isMethods(v: unknown): v is Methods {
  return (
    typeof v === "object" &&
    v !== null &&
    !(v instanceof Response) &&
    Object.keys(v).length > 0 &&
    Object.keys(v).every((k) => k === "GET" || k === "POST") &&
    Object.values(v).every((h) => typeof h === "function")
  );
}

/** A refusal sent before the body was read leaves the body draining for a moment (body.ts: else a reset can take the answer with it). */
function drainRefused(handler: Handler): Handler {
  return (req, server) => {
    const after = (res: Response): Response => {
      if (res.status >= 400) discardUnread(req);
      return res;
    };
    const out = handler(req, server);
    return out instanceof Promise ? out.then(after) : after(out);
  };
}
