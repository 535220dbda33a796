/**
 * --api-token: who may read the operator routes (/peers, /status, /metrics, /events, /stats).
 *
 * - Scripts and Prometheus send `Authorization: Bearer <token>`.
 * - A browser opens `/login?token=<token>` once (the page sends it there when its address has
 *   `?token=`): the answer sets an HttpOnly, SameSite=Strict cookie holding a MAC derived from
 *   the token (never the token), and redirects to the page, so the token leaves the address bar.
 * - The dashboard stream's hello carries a ticket (expiry + MAC, 10 minutes), good for /events
 *   only, so the page can fail over to a node on another host, where its cookie does not go.
 * Every node of a cluster is started with the same token, so each can check what another issued.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { checkSecretFile } from "../identity/secret-files.ts";
import { UsageError } from "../util/usage-error.ts";

export const COOKIE = "dsef_session";
/** An operator's order relayed node to node (`order` below). */
export const ORDER_HEADER = "x-dsef-operator";
const TICKET_MS = 10 * 60_000;
export const MIN_TOKEN_LENGTH = 16;

const digest = (s: string | Buffer): Buffer => createHash("sha256").update(s).digest();

function same(a: Buffer, b: Buffer): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

export class ApiAuth {
  readonly #tokenDigest: Buffer;
  readonly #key: Buffer;
  readonly #cookieValue: string;
  /** The Authorization value this node sends to its peers' protected routes. */
  readonly bearer: string;

  constructor(
    token: string,
    private readonly clock: () => number = Date.now,
  ) {
    if (token.length < MIN_TOKEN_LENGTH) throw new Error(`an API token needs at least ${MIN_TOKEN_LENGTH} characters (try: openssl rand -base64 32)`);
    this.bearer = `Bearer ${token}`;
    this.#tokenDigest = digest(token);
    this.#key = digest(`dsef/v1 api token\n${token}`);
    this.#cookieValue = this.#mac("cookie");
  }

  #mac(what: string): string {
    return createHmac("sha256", this.#key).update(what).digest("base64url");
  }

  /** Is this the token? (Compared as digests, in constant time.) */
  isToken(candidate: string): boolean {
    return same(digest(candidate), this.#tokenDigest);
  }

  /** Bearer header or login cookie; with `ticketOk`, a ticket in the query too (/events). */
  allows(req: Request, ticketOk = false): boolean {
    const authz = req.headers.get("authorization");
    if (authz?.startsWith("Bearer ") && this.isToken(authz.slice(7).trim())) return true;
    const cookie = req.headers.get("cookie");
    const m = cookie ? new RegExp(`(?:^|;\\s*)${COOKIE}=([A-Za-z0-9_-]{43})(?:;|$)`).exec(cookie) : null;
    if (m && same(Buffer.from(m[1]!), Buffer.from(this.#cookieValue))) return true;
    if (!ticketOk) return false;
    const ticket = new URL(req.url).searchParams.get("ticket");
    return ticket !== null && this.#validTicket(ticket);
  }

  /** Set-Cookie value for a browser that presented the token at /login. */
  cookie(secure: boolean): string {
    return `${COOKIE}=${this.#cookieValue}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${30 * 86_400}${secure ? "; Secure" : ""}`;
  }

  /** A short-lived credential for /events on any node of the cluster. */
  ticket(): string {
    const exp = String(this.clock() + TICKET_MS);
    return `${exp}.${this.#mac(`ticket\n${exp}`)}`;
  }

  /**
   * The operator's order carried by one node to another (`dsef keys`): a MAC under the token over
   * the time, the receiving node and the body, so a member that holds the cluster key but not the
   * token cannot forge one, and one seen on the way is good only there, for a minute.
   */
  order(target: string, body: string): string {
    const ts = String(this.clock());
    return `${ts}.${this.#mac(`order\n${ts}\n${target}\n${body}`)}`;
  }

  /** Is this an operator's order for this node (`self`) with this body, made within a minute? */
  isOrder(header: string | null, self: string, body: string): boolean {
    const m = header ? /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(header) : null;
    if (!m || Math.abs(Number(m[1]) - this.clock()) > 60_000) return false;
    return same(Buffer.from(m[2]!), Buffer.from(this.#mac(`order\n${m[1]}\n${self}\n${body}`)));
  }

  #validTicket(t: string): boolean {
    const m = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(t);
    if (!m) return false;
    const exp = Number(m[1]);
    const now = this.clock();
    if (exp < now || exp > now + TICKET_MS + 60_000) return false;
    return same(Buffer.from(m[2]!), Buffer.from(this.#mac(`ticket\n${m[1]}`)));
  }
}

/** The token from --api-token, or the first line of --api-token-file; "" when neither. */
export function apiTokenOf(config: { apiToken: string; apiTokenFile: string }): string {
  if (config.apiToken && config.apiTokenFile) throw new Error("give either --api-token or --api-token-file, not both");
  if (!config.apiTokenFile) return config.apiToken;
  const line = readFileSync(config.apiTokenFile, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith("#"));
  if (!line) throw new Error(`${config.apiTokenFile} holds no API token`);
  return line;
}

export const LOGIN_HELP = "this node needs its API token: send Authorization: Bearer <token>, or open /login?token=<token> in a browser";

/** At start: the token file is private and the token long enough (UsageError: exit 2). */
export function checkApiToken(config: { apiToken: string; apiTokenFile: string }): void {
  if (config.apiTokenFile) checkSecretFile("api-token-file", config.apiTokenFile);
  try {
    const token = apiTokenOf(config);
    if (token) new ApiAuth(token);
  } catch (e) {
    throw new UsageError(`--${config.apiTokenFile ? "api-token-file" : "api-token"}: ${(e as Error).message}`);
  }
}
