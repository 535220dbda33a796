/**
 * Day-two membership verbs on a real secured cluster (cluster key, API token, `local` timing):
 * `dsef reachability` while all answer and after a SIGSTOP; `dsef why` on a member that was
 * SIGSTOPped (probe timeouts, nacks and silent relays, suspicion, then dead) and on one killed
 * with SIGKILL (its HTTP port refuses us and a relay: dead at once); `dsef force-leave` refused
 * without the token and for a live member, done for a dead one everywhere (and --prune), and
 * refuted by the SIGSTOPped member once it runs again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { NodeAuth } from "../../src/identity/node-auth.ts";
import { startSecuredCluster } from "../support/identity.ts";
import { BUN, type NodeProcess, type PeerRow, ROOT, stopAll, waitUntil } from "../support/processes.ts";

const KEY = "why-force-leave-cluster-key-0123456789abcdef";
const TOKEN = "why-force-leave-api-token-0123456789";
let nodes: NodeProcess[] = [];
let a: NodeProcess;
let b: NodeProcess;
let c: NodeProcess;
let d: NodeProcess;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "dsef-token-"));
  writeFileSync(join(dir, "token"), `${TOKEN}\n`, { mode: 0o600 });
  nodes = await startSecuredCluster(
    4,
    (i) => ({ args: ["--cluster-key", KEY, "--api-token-file", join(dir, "token"), "--profile", "local", "--name", `node-${"abcd"[i]}`] }),
    { apiToken: TOKEN },
  );
  [a, b, c, d] = nodes as [NodeProcess, NodeProcess, NodeProcess, NodeProcess];
}, 60_000);
afterAll(async () => {
  c?.kill("SIGCONT");
  await stopAll(nodes);
});

async function dsef(args: string[], token = TOKEN): Promise<{ code: number; out: string; err: string }> {
  const env = { ...process.env, DSEF_NODE: "", DSEF_API_TOKEN: token };
  const p = Bun.spawn([BUN, join(ROOT, "src/cli/dsef.ts"), ...args], { stdout: "pipe", stderr: "pipe", env });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

const row = async (observer: NodeProcess, target: NodeProcess): Promise<PeerRow | undefined> => (await observer.peers()).find((p) => p.port === target.port);
const stateAt = async (observer: NodeProcess, target: NodeProcess) => (await row(observer, target))?.state;
const seenAs = (observers: NodeProcess[], target: NodeProcess, state: PeerRow["state"] | undefined) =>
  waitUntil(async () => (await Promise.all(observers.map((o) => stateAt(o, target)))).every((s) => s === state), 20_000);

interface Entry {
  at: string;
  kind: string;
  by: string;
  via?: string;
  relays?: string[];
  suspected_ms?: number;
  detail?: string;
}
interface Why {
  member: string;
  reports: { node: { id: string; name: string }; view?: { state: string }; entries: Entry[] }[];
  unanswered: unknown[];
}

test("reachability: every member answers this node on UDP and HTTP, as itself", async () => {
  const r = await dsef(["reachability", "--node", a.url]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^NAME\s+STATE\s+UDP\s+HTTP\s+IDENTITY\s+ID/);
  for (const name of ["node-b", "node-c", "node-d"]) expect(r.out).toMatch(new RegExp(`${name}\\s+alive\\s+ack [\\d.]+ ms\\s+ok [\\d.]+ ms\\s+proven`));
  expect(r.out).toContain("all 3 members answer on UDP and HTTP");
}, 30_000);

test("nobody removes a live member: outsiders get 401, an insider holding the cluster key is refused (409)", async () => {
  const aId = (await row(b, a))!.id;
  const forget = (headers: Record<string, string>, body = JSON.stringify({ id: aId, prune: true })) =>
    fetch(`${b.url}/members/forget`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  expect((await forget({})).status).toBe(401);
  // The operator's token is not a node's authentication.
  expect((await forget({ authorization: `Bearer ${TOKEN}` })).status).toBe(401);
  const evidence = `${b.url}/members/${aId}/evidence`;
  expect((await fetch(evidence)).status).toBe(401);
  expect((await fetch(evidence, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  // An insider signs as a node: each node decides for itself, and a member alive here stays.
  const insider = new NodeAuth(new Keyring([keyFromSecret(KEY)]));
  const body = JSON.stringify({ id: aId, prune: true });
  const signed = await forget(insider.sign("POST", `127.0.0.1:${b.port}`, "/members/forget", body), body);
  expect(signed.status).toBe(409);
  expect(((await signed.json()) as { error: string }).error).toContain("alive here");
  // Nor is a node's authentication an operator's: /force-leave wants the token.
  const asNode = await fetch(`${b.url}/force-leave`, {
    method: "POST",
    headers: { "content-type": "application/json", ...insider.sign("POST", `127.0.0.1:${b.port}`, "/force-leave", '{"member":"node-a"}') },
    body: '{"member":"node-a"}',
  });
  expect(asNode.status).toBe(401);
  for (const o of [b, c, d]) expect(await stateAt(o, a)).toBe("alive");
}, 30_000);

test("a SIGSTOPped member: dsef why shows probe timeouts, relays' nacks, silent HTTP checks, the suspicion, then death", async () => {
  const cId = (await row(a, c))!.id;
  c.kill("SIGSTOP");
  await seenAs([a, b, d], c, "dead");

  const reach = await dsef(["reachability", "--node", a.url]);
  if (process.env.SHOW) console.log(reach.out);
  expect(reach.code).toBe(1);
  expect(reach.out).toMatch(/node-c\s+dead\s+no ack\s+silent\s+-/);
  expect(reach.out).toContain("1 of 3 members do not answer on both");

  const json = await dsef(["why", "node-c", "--node", a.url, "--json"]);
  expect(json.err).toBe("");
  const why = JSON.parse(json.out) as Why;
  expect(why.member).toBe(cId);
  // The node asked, and the two other live members, each told its side (node-c itself cannot).
  expect(why.reports.map((r) => r.node.name).sort()).toEqual(["node-a", "node-b", "node-d"]);
  for (const r of why.reports) expect(r.view?.state).toBe("dead");
  const all = why.reports.flatMap((r) => r.entries.map((e) => ({ ...e, reporter: r.node.id })));
  const kinds = new Set(all.map((e) => e.kind));
  for (const k of ["ack-timeout", "nack", "http", "probe-failed", "suspect", "dead"]) expect(kinds).toContain(k);
  expect(all.filter((e) => e.kind === "http").every((e) => e.detail === "silent")).toBe(true);
  // A stalled process never refuses a connection: its death is the suspicion running out, never "refused".
  expect(all.some((e) => e.kind === "dead" && e.detail === "suspicion timeout" && e.by === e.reporter)).toBe(true);
  expect(all.some((e) => e.detail?.includes("refused"))).toBe(false);
  // On each node that probed it: ack timeout, then the failed probe, then suspect, then dead, with the suspicion's length.
  const prober = why.reports.find((r) => r.entries.some((e) => e.kind === "dead" && e.detail === "suspicion timeout"))!;
  const order = prober.entries.map((e) => e.kind);
  expect(order.indexOf("ack-timeout")).toBeLessThan(order.indexOf("probe-failed"));
  expect(order.lastIndexOf("suspect")).toBeLessThan(order.lastIndexOf("dead"));
  const dead = prober.entries.findLast((e) => e.kind === "dead")!;
  expect(dead.suspected_ms!).toBeGreaterThan(500);

  const text = await dsef(["why", cId.slice(0, 10), "--node", a.url]);
  if (process.env.SHOW) console.log(text.out);
  expect(text.code).toBe(0);
  expect(text.out).toContain(`node-c (${cId})`);
  expect(text.out).toMatch(/node-[abd]\s+probe: no ack within \d+ ms; asked relays/);
  expect(text.out).toMatch(/nack from node-[abd]: no ack/);
  expect(text.out).toMatch(/HTTP challenge: silent/);
  expect(text.out).toMatch(/SUSPECT at incarnation \d+ by this node \(probe timeout\)/);
  expect(text.out).toMatch(/DEAD at incarnation \d+ by this node \(suspicion timeout\), after [\d.]+ s of suspicion/);
  expect(text.out).toMatch(
    /suspicions:\n(.*\n)*\s+node-[abd]: suspected at [\d:.]+ by node-[abd]( \(probe timeout\))?; dead \(suspicion timeout\) at [\d:.]+, after [\d.]+ s/,
  );
}, 60_000);

test("force-leave: refused without the token and for a live member; a dead one is left everywhere", async () => {
  const noToken = await dsef(["force-leave", "node-c", "--node", a.url], "");
  expect(noToken.code).toBe(1);
  expect(noToken.err).toContain("needs the node's API token");

  const live = await dsef(["force-leave", "node-b", "--node", a.url]);
  expect(live.code).toBe(1);
  expect(live.err).toContain("node-b: alive here: a live member is never forced out");
  expect(await stateAt(a, b)).toBe("alive");

  const done = await dsef(["force-leave", "node-c", "--node", a.url]);
  if (process.env.SHOW) console.log(done.out);
  expect(done.err).toBe("");
  expect(done.code).toBe(0);
  expect(done.out).toMatch(/^node-c \(\w+\): left on the node asked/);
  expect(done.out).toMatch(/node-b\s+left/);
  expect(done.out).toMatch(/node-d\s+left/);
  for (const o of [a, b, d]) expect(await stateAt(o, c)).toBe("left");
  // The operator's action is in the story too.
  const why = JSON.parse((await dsef(["why", "node-c", "--node", b.url, "--json"])).out) as Why;
  expect(why.reports.find((r) => r.node.name === "node-b")!.entries.at(-1)).toMatchObject({ kind: "left", detail: "force-leave" });
}, 60_000);

test("a SIGKILLed member: its HTTP port refuses us and a relay, it is dead at once; force-leave --prune forgets it everywhere", async () => {
  d.kill("SIGKILL");
  await seenAs([a, b], d, "dead");
  const why = JSON.parse((await dsef(["why", "node-d", "--node", a.url, "--json"])).out) as Why;
  const all = why.reports.flatMap((r) => r.entries);
  expect(all.some((e) => e.kind === "http" && e.detail === "refused")).toBe(true);
  expect(all.some((e) => e.kind === "nack" && e.detail === "no ack, and its HTTP port refused the connection")).toBe(true);
  const dead = all.filter((e) => e.kind === "dead");
  expect(dead.some((e) => e.detail === "connection refused")).toBe(true);
  const text = (await dsef(["why", "node-d", "--node", a.url])).out;
  if (process.env.SHOW) console.log(text);
  expect(text).toMatch(/HTTP challenge: refused/);
  expect(text).toMatch(/DEAD at incarnation \d+ (by this node|by node-[ab]) \(connection refused\)/);

  const pruned = await dsef(["force-leave", "node-d", "--prune", "--node", a.url]);
  expect(pruned.code).toBe(0);
  expect(pruned.out).toMatch(/node-d \(\w+\): pruned on the node asked/);
  expect(pruned.out).toMatch(/node-b\s+pruned/);
  for (const o of [a, b]) expect(await row(o, d)).toBeUndefined();
  // Its story outlives its row.
  const after = await dsef(["why", "node-d", "--node", a.url]);
  expect(after.code).toBe(0);
  expect(after.out).toContain("forgotten (pruned by an operator)");
}, 60_000);

test("the SIGSTOPped member runs again: it hears it was declared dead, refutes, and is back everywhere", async () => {
  c.kill("SIGCONT");
  await seenAs([a, b], c, "alive");
  const why = JSON.parse((await dsef(["why", "node-c", "--node", a.url, "--json"])).out) as Why;
  const own = why.reports.find((r) => r.node.name === "node-c")!;
  expect(own.entries.some((e) => e.kind === "refuted")).toBe(true);
  expect(why.reports.find((r) => r.node.name === "node-a")!.entries.some((e) => e.kind === "rejoined")).toBe(true);
}, 60_000);
