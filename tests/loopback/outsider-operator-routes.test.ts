/**
 * The read-only operator routes with --api-token: an outsider without the token reads nothing
 * (401); the operator reads with a bearer token; a browser logs in once (?token= → an HttpOnly
 * cookie) and the dashboard's stream works, also through another node (a ticket in its hello).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSecuredCluster } from "../support/identity.ts";
import type { NodeProcess } from "../support/processes.ts";
import { stopAll } from "../support/processes.ts";

const KEY = "outsider-operator-routes-cluster-key-0123456789";
const TOKEN = "operator-api-token-0123456789abcdef";
let nodes: NodeProcess[] = [];
let a: NodeProcess;
let b: NodeProcess;

beforeAll(async () => {
  nodes = await startSecuredCluster(2, () => ({ args: ["--cluster-key", KEY, "--api-token-file", tokenFile()] }), { apiToken: TOKEN });
  [a, b] = nodes as [NodeProcess, NodeProcess];
}, 30_000);
afterAll(() => stopAll(nodes));

function tokenFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), "dsef-token-")), "token");
  writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
  return file;
}

const bearer = { authorization: `Bearer ${TOKEN}` };
const READ_ROUTES = ["/peers", "/peer", "/status", "/metrics", "/events"];

/** The first SSE events of a stream (up to `n`), then let it go. */
async function firstEvents(url: string, headers: Record<string, string>, n = 2): Promise<{ status: number; events: { event: string; data: any }[] }> {
  const res = await fetch(url, { headers });
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel();
    return { status: res.status, events: [] };
  }
  const reader = res.body.getReader();
  let text = "";
  while ((text.match(/\n\n/g) ?? []).length < n) {
    const { done, value } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  const events = text
    .split("\n\n")
    .filter((b) => b.startsWith("event: "))
    .map((b) => ({ event: /^event: (\w+)/.exec(b)![1]!, data: JSON.parse(/\ndata: (.*)/.exec(b)![1]!) }));
  return { status: res.status, events };
}

describe("--api-token", () => {
  test("without the token every read route answers 401; probes stay open", async () => {
    for (const path of READ_ROUTES) {
      const res = await fetch(`${a.url}${path}`);
      await res.body?.cancel();
      expect(`${path} ${res.status}`).toBe(`${path} 401`);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
    for (const path of ["/health", "/ready"]) expect((await fetch(`${a.url}${path}`)).status).toBe(200);
  });

  test("a wrong token is refused the same way", async () => {
    const res = await fetch(`${a.url}/peers`, { headers: { authorization: "Bearer not-the-token" } });
    expect(res.status).toBe(401);
  });

  test("with the bearer token the operator reads everything", async () => {
    for (const path of ["/peers", "/peer", "/status", "/metrics"]) expect((await fetch(`${a.url}${path}`, { headers: bearer })).status).toBe(200);
    const s = await firstEvents(`${a.url}/events`, bearer);
    expect(s.events.map((e) => e.event)).toEqual(["hello", "snapshot"]);
  });

  test("the page itself holds no data and loads; ?token= logs in once and leaves an HttpOnly cookie", async () => {
    const page = await fetch(`${a.url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain((await (await fetch(`${a.url}/status`, { headers: bearer })).json()).id);

    const login = await fetch(`${a.url}/login?token=${TOKEN}`, { redirect: "manual" });
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("/");
    const cookie = login.headers.get("set-cookie")!;
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).not.toContain(TOKEN);
    const jar = cookie.split(";")[0]!;
    const s = await firstEvents(`${a.url}/events`, { cookie: jar });
    expect(s.status).toBe(200);
    expect(s.events[0]!.event).toBe("hello");

    // Failing over to another node: the hello carried a ticket for /events only.
    const ticket = s.events[0]!.data.ticket as string;
    expect(ticket).toBeTruthy();
    const other = await firstEvents(`${b.url}/events?ticket=${encodeURIComponent(ticket)}`, { origin: a.url });
    expect(other.status).toBe(200);
    expect((await fetch(`${b.url}/peers?ticket=${encodeURIComponent(ticket)}`)).status).toBe(401);

    const bad = await fetch(`${a.url}/login?token=wrong`, { redirect: "manual" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("set-cookie")).toBeNull();
  });
});
