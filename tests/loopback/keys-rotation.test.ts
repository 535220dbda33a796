/**
 * `dsef keys` on a real secured cluster of 5 nodes, whose keys come from a key file, a flag and
 * the environment: one command through one node installs a key everywhere, uses it everywhere
 * and removes the old one (refused while a member still sends with it). A node stopped before
 * the rotation comes back with only the old key, catches up in the join handshake and sends with
 * the new one; one stopped after the install comes back after the remove holding both keys and
 * joins with the new one; once the old key is removed a node holding only it is refused. Run-time changes
 * survive a restart and a SIGHUP of an unchanged key file. Without the operator token: 401; a
 * member with the cluster key but not the token cannot change another member's keys.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KEY_STATE_FILE } from "../../src/identity/key-store.ts";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { NodeAuth } from "../../src/identity/node-auth.ts";
import { logLines } from "../support/identity.ts";
import { allocPorts, allSee, BUN, type NodeProcess, ROOT, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const OLD = "keys-rotation-old-secret-0000001";
const NEW = "keys-rotation-new-secret-0000002";
const TOKEN = "keys-rotation-operator-token-0123";
const oldKid = keyFromSecret(OLD).kid;
const newKid = keyFromSecret(NEW).kid;
const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

const dsef = async (env: Record<string, string | undefined>, ...args: string[]) => {
  const t0 = performance.now();
  const p = Bun.spawn([BUN, join(ROOT, "src/cli/dsef.ts"), "keys", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { out, err, code, ms: Math.round(performance.now() - t0) };
};
const op = { DSEF_API_TOKEN: TOKEN };
const keysOf = async (n: NodeProcess) => (await n.status()).security.keys as { accepted: string[]; sending: string };

test("install -> use -> remove from one command; a node down during it catches up at its join; the old key is refused after", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dsef-keys-"));
  const file = join(dir, "cluster-key");
  writeFileSync(file, `${OLD}\n`, { mode: 0o600 });
  const ports = allocPorts(6);
  // The same secret from a key file, a flag, the environment, flags.
  const how = [
    { args: ["--cluster-key-file", file] },
    { args: ["--cluster-key", OLD] },
    { args: [], env: { DSEF_CLUSTER_KEY: OLD } },
    { args: ["--cluster-key", OLD] },
    { args: ["--cluster-key", OLD] },
  ];
  for (const [i, h] of how.entries())
    nodes.push(
      await spawnNode({
        port: ports[i]!,
        bootstrap: i === 0 ? undefined : `127.0.0.1:${ports[0]}`,
        apiToken: TOKEN,
        args: [...h.args, "--api-token", TOKEN],
        env: h.env,
      }),
    );
  await waitUntil(() => allSee(nodes, nodes, "alive"), 20_000);
  const [a, b, c, d, e] = nodes as [NodeProcess, NodeProcess, NodeProcess, NodeProcess, NodeProcess];

  // Without the operator token: refused, nothing changes.
  const anon = await dsef({ DSEF_API_TOKEN: undefined }, "list", "--node", a.url);
  expect(anon.code).toBe(1);
  expect(anon.err).toContain("needs the node's API token");
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${a.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  expect((await post("/keys/install", { key: NEW })).status).toBe(401);
  expect((await post("/keys/remove", { kid: oldKid }, { authorization: "Bearer not-the-token-0123456789" })).status).toBe(401);
  // The members' own route needs a node's authentication.
  expect((await post("/keys/local", { op: "use", kid: oldKid })).status).toBe(401);
  expect((await fetch(`${a.url}/keys/local`)).status).toBe(401);
  // A member holding the cluster key but not the operator's token: it reads, it cannot change keys.
  const insider = new NodeAuth(new Keyring([keyFromSecret(OLD)]));
  const target = `127.0.0.1:${a.port}`;
  const order = JSON.stringify({ op: "use", kid: oldKid });
  const forged = await fetch(`${a.url}/keys/local`, {
    method: "POST",
    headers: { "content-type": "application/json", ...insider.sign("POST", target, "/keys/local", order) },
    body: order,
  });
  expect(forged.status).toBe(403);
  expect(((await forged.json()) as { error: string }).error).toContain("operator's order");
  expect((await fetch(`${a.url}/keys/local`, { headers: insider.sign("GET", target, "/keys/local") })).status).toBe(200);

  // d goes down (gracefully) before the rotation.
  d.kill("SIGTERM");
  await d.exited;
  await waitUntil(() => allSee([a, b, c, e], [d], "left"), 10_000);

  const installed = await dsef(op, "install", NEW, "--node", a.url);
  console.log(`$ dsef keys install NEW\n${installed.out}${installed.err}`);
  expect(installed.code).toBe(0);
  expect(installed.out).toMatch(new RegExp(`${newKid}\\s+4/4\\s+0/4\\s+-`));
  const listed = JSON.parse((await dsef(op, "list", "--json", "--node", b.url)).out);
  expect(listed).toMatchObject({ complete: true, members: 4, answered: 4 });
  expect(listed.keys).toEqual([
    { kid: oldKid, held_by: 4, sending: 4, missing: [] },
    { kid: newKid, held_by: 4, sending: 0, missing: [] },
  ]);
  // e goes down after the install (it holds the new key, sends with the old one) and is back after the remove.
  e.kill("SIGTERM");
  await e.exited;
  await waitUntil(() => allSee([a, b, c], [e], "left"), 10_000);
  const live = [a, b, c];

  // Still in use by every member: removing it is refused, nothing changes.
  const early = await dsef(op, "remove", oldKid, "--node", c.url);
  console.log(`$ dsef keys remove ${oldKid}\n${early.out}${early.err}`);
  expect(early.code).toBe(1);
  expect(early.err).toContain(`key ${oldKid} is still used by`);
  expect((await Promise.all(live.map(keysOf))).every((k) => k.accepted.includes(oldKid))).toBe(true);

  const used = await dsef(op, "use", newKid, "--node", a.url);
  expect(used.code).toBe(0);
  expect(used.out).toMatch(new RegExp(`${newKid}\\s+3/3\\s+3/3`));
  for (const n of live) expect((await keysOf(n)).sending).toBe(newKid);

  // d comes back with only the old key (still accepted): the seed hands it the current keys.
  await d.restart();
  await waitUntil(async () => (await keysOf(d)).sending === newKid && (await allSee([a, b, c, d], [a, b, c, d], "alive")), 20_000);
  expect((await keysOf(d)).accepted.sort()).toEqual([oldKid, newKid].sort());
  expect(logLines(d).some((l) => l.msg?.includes("cluster keys updated at join"))).toBe(true);

  const removed = await dsef(op, "remove", oldKid, "--node", c.url);
  expect(removed.code).toBe(0);
  expect(removed.out).toMatch(new RegExp(`${newKid}\\s+4/4\\s+4/4\\s+-`));
  expect(removed.out).not.toContain(oldKid);
  for (const n of [a, b, c, d]) expect(await keysOf(n)).toEqual({ accepted: [newKid], sending: newKid });
  // The last key is never removed.
  const last = await dsef(op, "remove", newKid, "--node", a.url);
  expect(last.code).toBe(1);
  expect(last.err).toMatch(/still used by|only key/);

  // e holds the new key besides the retired one it sent with: it proves the new one and sends with it.
  await e.restart();
  await waitUntil(async () => (await keysOf(e)).sending === newKid && (await allSee([a, b, c, d, e], [a, b, c, d, e], "alive")), 20_000);
  // The key the seed refused is dropped, so e does not hand it on to nodes that join through it.
  expect(await keysOf(e)).toEqual({ accepted: [newKid], sending: newKid });

  // A node holding only the retired key: refused at the handshake, with the reason.
  const stale = await spawnNode({ port: ports[5]!, bootstrap: a.url, apiToken: TOKEN, args: ["--cluster-key", OLD, "--api-token", TOKEN] });
  nodes.push(stale);
  await waitUntil(async () => JSON.stringify(await (await fetch(`${stale.url}/ready`)).json()).includes("not accepted"), 10_000);
  expect((await stale.status()).ready).toBe(false);
  expect(logLines(a).some((l) => l.msg === "refused a join" && String(l.reason).includes("retired"))).toBe(true);
  stale.kill("SIGKILL");

  // Kept across restarts (b's flag still says OLD), in a file only its owner reads.
  expect(statSync(join(b.dataDir, KEY_STATE_FILE)).mode & 0o777).toBe(0o600);
  b.kill("SIGTERM");
  await b.exited;
  await b.restart();
  await waitUntil(() => allSee([a, b, c, d, e], [b], "alive"), 15_000);
  expect(await keysOf(b)).toEqual({ accepted: [newKid], sending: newKid });
  // SIGHUP with the key file unchanged (still OLD) keeps the rotation.
  a.kill("SIGHUP");
  await Bun.sleep(500);
  expect(await keysOf(a)).toEqual({ accepted: [newKid], sending: newKid });
  await waitUntil(() => allSee([a, b, c, d, e], [a, b, c, d, e], "alive"), 15_000);

  console.log({ commandMs: { install: installed.ms, use: used.ms, remove: removed.ms } });
  // Nobody was declared dead during the rotation.
  expect(live.flatMap(logLines).filter((l) => l.event === "dead")).toEqual([]);
}, 120_000);
