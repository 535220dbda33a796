/**
 * Shared-key mode: an insider holds the cluster key, so its /sync authenticates and it can
 * invent as many self-signed identities as it likes. Row 5 of the insider table: 800 of them in
 * one authenticated /sync, their HTTP pointing at a real node. New identities are capped per
 * sync and per second, so the tables stay small, and a real crash afterwards is still detected
 * within the bound the membership test holds a kill -9 to.
 */
import { afterAll, expect, test } from "bun:test";
import { signAlive } from "../../src/identity/claims.ts";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { generateIdentity } from "../../src/identity/node-identity.ts";
import { SyncAuth } from "../../src/identity/sync-auth.ts";
import { exchangeState } from "../../src/identity/sync-client.ts";
import type { MemberSnapshot } from "../../src/membership/types.ts";
import { logLines, startSecuredCluster } from "../support/identity.ts";
import { allSee, type NodeProcess, stopAll, waitUntil } from "../support/processes.ts";

const SECRET = "insider-phantoms-test-secret-01";
const nodes: NodeProcess[] = [];
afterAll(() => stopAll(nodes));

test("row 5: 800 invented members in one authenticated /sync are capped; a crash is still detected in time", async () => {
  nodes.push(...(await startSecuredCluster(5, () => ({ args: ["--cluster-key", SECRET] }))));
  const [target, , , , victim] = nodes as [NodeProcess, NodeProcess, NodeProcess, NodeProcess, NodeProcess];
  const realHttp = nodes[1]!.url.slice(7);
  const phantoms: MemberSnapshot[] = Array.from({ length: 800 }, (_, i) => {
    const id = generateIdentity();
    const info = { id: id.id, name: `phantom${i}`, gossip: `127.0.0.2:${20_000 + i}`, http: realHttp, capacity: 1000 };
    return { info, state: "alive", incarnation: 1, proof: signAlive(id, 1, info) };
  });
  await exchangeState(target.url.slice(7), phantoms, false, new SyncAuth(new Keyring([keyFromSecret(SECRET)]), false));
  await Bun.sleep(3000);

  const sizes = await Promise.all(nodes.map(async (n) => (await n.peers()).length));
  console.log(`member table sizes after 800 phantoms: ${sizes.join(", ")}`);
  // Defaults: 8 new identities per sync, 8 per second; the 5 real members are listed too.
  for (const s of sizes) expect(s).toBeLessThanOrEqual(5 + 8);
  const status = await target.status();
  expect(status.security.claims.rejected.rateLimited).toBeGreaterThanOrEqual(800 - 8);
  expect(logLines(target).some((l) => l.msg === "refused new identities over the admission limits")).toBe(true);

  // The phantoms admitted within the caps are probed like anyone. Where probes check identity,
  // the ones pointing at another node's HTTP die by their own silence; meanwhile, picked as
  // ping-req relays that never nack, they raise the probers' local health score (Lifeguard)
  // and slow probing. The crash comes once that has settled (or at once, if they never die).
  const settled = async () => {
    const st = await Promise.all(nodes.map(async (n) => ({ s: await n.status(), p: await n.peers() })));
    return st.every(({ s, p }) => s.health_score === 0 && !p.some((m) => m.name.startsWith("phantom") && (m.state === "alive" || m.state === "suspect")));
  };
  const settledIn = await waitUntil(settled, 45_000).catch(() => undefined);
  console.log(
    settledIn === undefined ? "phantoms still listed alive after 45 s" : `phantoms gone and health scores back to 0 after ${Math.round(settledIn)} ms`,
  );
  victim.kill("SIGKILL");
  const survivors = nodes.slice(0, 4);
  // The bound tests/loopback/membership.test.ts holds a kill -9 to, with no phantoms.
  const took = await waitUntil(() => allSee(survivors, [victim], "dead"), 15_000);
  console.log(`kill -9 detected by all 4 survivors in ${Math.round(took)} ms`);
}, 120_000);
