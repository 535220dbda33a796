/**
 * Tags on real nodes: `--tag` announced in the signed alive claim and shown by every node;
 * `dsef tags set/unset` re-announces at run time; `dsef members --tag` filters; POST /tags needs
 * the operator token on a node that has one; `--prefer-tag` keeps forwarded work on the site.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { allocPorts, allSee, BUN, type NodeProcess, ROOT, spawnNode, stopAll, waitUntil } from "../support/processes.ts";

const KEY = "ops-tags-cluster-key-0123456789abcdef";
const TOKEN = "ops-tags-operator-token-0123456789";
const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

const dsef = async (env: Record<string, string>, ...args: string[]) => {
  const p = Bun.spawn([BUN, join(ROOT, "src/cli/dsef.ts"), ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { out, err, code };
};
const tagsOf = async (observer: NodeProcess, port: number) => (await observer.peers()).find((p) => p.port === port)?.tags;

describe("tags", () => {
  test("--tag travels with the signed alive claim; dsef tags set/unset re-announces; members --tag filters", async () => {
    const ports = allocPorts(3);
    const tags = [["zone=a", "role=gateway"], ["zone=a"], ["zone=b"]];
    for (const [i, port] of ports.entries())
      nodes.push(
        await spawnNode({
          port,
          bootstrap: i === 0 ? undefined : `127.0.0.1:${ports[0]}`,
          apiToken: TOKEN,
          args: ["--cluster-key", KEY, "--api-token", TOKEN, ...tags[i]!.flatMap((t) => ["--tag", t])],
        }),
      );
    await waitUntil(() => allSee(nodes, nodes, "alive"), 20_000);
    const [a, , c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    await waitUntil(async () => (await tagsOf(c, a.port))?.role === "gateway", 10_000);
    expect(await tagsOf(c, a.port)).toEqual({ zone: "a", role: "gateway" });

    const env = { DSEF_API_TOKEN: TOKEN };
    const members = await dsef(env, "members", "--node", a.url, "--tag", "zone=a");
    expect(members.code).toBe(0);
    expect(members.out.split("\n").filter((l) => l.includes("zone=a"))).toHaveLength(2);
    expect(members.out).not.toContain("zone=b");

    // At run time, on c: every node learns it within a few gossip rounds.
    const set = await dsef(env, "tags", "set", "zone=a", "rack=7", "--node", c.url);
    expect(set.code).toBe(0);
    expect(set.out).toContain("rack=7");
    await waitUntil(async () => (await Promise.all(nodes.map((n) => tagsOf(n, c.port)))).every((t) => t?.rack === "7" && t.zone === "a"), 5_000);
    const unset = await dsef(env, "tags", "unset", "rack", "--node", c.url);
    expect(unset.code).toBe(0);
    await waitUntil(async () => (await Promise.all(nodes.map((n) => tagsOf(n, c.port)))).every((t) => t?.rack === undefined), 5_000);
    expect((await dsef(env, "members", "--node", a.url, "--tag", "zone=a")).out.split("\n").filter((l) => l.includes("zone=a"))).toHaveLength(3);
  }, 60_000);

  test("POST /tags without the operator token: 401, nothing changes; bad tags: 400 with the reason", async () => {
    const [a] = nodes as [NodeProcess];
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${a.url}/tags`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    expect((await post({ set: { zone: "evil" } })).status).toBe(401);
    expect((await post({ set: { zone: "evil" } }, { authorization: "Bearer not-the-token-0123456789" })).status).toBe(401);
    const bad = await post({ set: { "bad key": "v" } }, { authorization: `Bearer ${TOKEN}` });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("tag key");
    expect((await a.status()).tags).toEqual({ zone: "a", role: "gateway" });
    const usage = await dsef({ DSEF_API_TOKEN: TOKEN }, "tags", "set", "novalue", "--node", a.url);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("key=value");
  });
});

describe("--prefer-tag", () => {
  let site: NodeProcess[] = [];
  afterAll(() => stopAll(site));

  test("a busy node forwards to a peer on its site, not to an idler one elsewhere", async () => {
    const [pa, pb, pc] = allocPorts(3) as [number, number, number];
    const a = await spawnNode({ port: pa, capacity: 200, args: ["--tag", "zone=a", "--prefer-tag", "zone=a"] });
    const b = await spawnNode({ port: pb, capacity: 5000, bootstrap: `127.0.0.1:${pa}`, args: ["--tag", "zone=a"] });
    const c = await spawnNode({ port: pc, capacity: 50_000, bootstrap: `127.0.0.1:${pa}`, args: ["--tag", "zone=b"] });
    site = [a, b, c];
    await waitUntil(() => allSee(site, site, "alive"), 20_000);
    await waitUntil(async () => (await a.peers()).filter((p) => p.tags?.zone !== undefined).length === 3, 10_000);
    const sent = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fetch(`${a.url}/handle_request`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ processing_load: 100, packet_id: `site-${i}`, device_id: `dev-${i}` }),
        }).then((r) => r.json() as Promise<{ handled_by?: string }>),
      ),
    );
    const by = (n: NodeProcess) => sent.filter((r) => r.handled_by?.endsWith(`:${n.port}`)).length;
    console.log(`  handled by a (zone a): ${by(a)}, b (zone a): ${by(b)}, c (zone b): ${by(c)}`);
    expect(by(b)).toBeGreaterThan(0);
    expect(by(c)).toBe(0);
  }, 60_000);
});
