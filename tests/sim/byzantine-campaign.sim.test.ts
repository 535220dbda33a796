/**
 * A byzantine member mounts every insider attack of issue 11 against a secured cluster, over
 * ten virtual minutes, while the invariant checker runs after every step of every node: forged
 * incarnations, impostors at victims' addresses, acks sprayed for a paused member, phantom
 * members, and a stream of random forged messages. Honest members must keep the truth about
 * each other; the insider's lies may only concern identities of its own.
 */
import { describe, expect, test } from "bun:test";
import { Byzantine } from "../../src/sim/byzantine.ts";
import { SimCluster } from "../../src/sim/sim-cluster.ts";

const KEY = "byzantine-campaign-cluster-key";
const MINUTE = 60_000;

interface Bounds {
  /** A paused member, acks sprayed for it, is dead everywhere within this. */
  pausedDeadMs: number;
  /** A crashed one (its HTTP port refuses), within this. */
  crashDeadMs: number;
  /** One random forged datagram every this many ms. */
  forgeEveryMs: number;
  /** An impostor for a random victim every this many ms. */
  impersonateEveryMs: number;
}

function campaign(n: number, seed: number, b: Bounds): void {
  const cpu0 = process.cpuUsage();
  // Its phantoms and impostors join some tables: the suspicion bounds must allow for them.
  const c = new SimCluster({ n, seed, preload: true, clusterKey: KEY, network: { loss: 0.01 }, maxMembers: n + 40 });
  c.run(5_000);
  const byz = new Byzantine(c, n - 1);
  const honest = [...Array(n - 1).keys()];
  const pick = () => honest[Math.floor(c.random() * honest.length)]!;
  const impostors = new Set<string>();
  const breaches: string[] = [];
  c.onEvent(({ observer, event }) => {
    const id = event.member.info.id;
    if (observer === byz.index) return;
    if (impostors.has(id) && event.type === "joined") breaches.push(`${observer} let impostor ${id} join`);
    if (event.reason?.startsWith("replaced")) breaches.push(`${observer} replaced ${id}: ${event.reason}`);
  });

  const stops = [byz.forgeRandomly(b.forgeEveryMs)];
  const every = (ms: number, fn: () => void) => {
    let on = true;
    const round = () => {
      if (!on) return;
      fn();
      c.clock.after(ms, round);
    };
    c.clock.after(ms, round);
    stops.push(() => {
      on = false;
    });
  };
  every(20_000, () => byz.forgeIncarnations(pick(), [pick(), pick(), pick()]));
  every(b.impersonateEveryMs, () => {
    const victim = pick();
    if (c.nodes[victim]!.status === "up")
      impostors.add(
        byz.impersonate(
          victim,
          honest.filter((o) => o !== victim),
        ),
      );
  });

  // Minute 1: phantom members, some of them pointing their HTTP port at real nodes.
  c.run(MINUTE);
  const phantoms = byz.phantoms(10, honest);

  // Minute 2: a member is paused and the insider acks for it.
  c.run(MINUTE);
  const paused = pick();
  const others = () => honest.filter((o) => o !== paused && c.nodes[o]!.status === "up");
  const stopSpray = byz.sprayAcks(paused, 100, 6);
  c.pause(paused);
  const pausedDead = c.runUntil(() => c.allSee(paused, "dead", others()), 60_000, 10);
  stopSpray();
  c.run(20_000);
  c.resume(paused);

  // Minute 4: a real crash amid it all.
  c.run(MINUTE);
  const crashed = honest.filter((o) => o !== paused)[Math.floor(c.random() * (n - 2))]!;
  c.crash(crashed);
  const crashDead = c.runUntil(
    () =>
      c.allSee(
        crashed,
        "dead",
        honest.filter((o) => o !== crashed),
      ),
    60_000,
    10,
  );
  c.run(30_000);
  c.restart(crashed);

  // To ten minutes, then the insider stops and the cluster settles.
  c.run(10 * MINUTE + 5_000 - c.now);
  for (const stop of stops) stop();
  c.run(MINUTE);

  const cpu = process.cpuUsage(cpu0);
  const sum = (f: (i: number) => number) => honest.reduce((s, o) => s + f(o), 0);
  const stats = (k: keyof SimCluster["nodes"][number]["swim"]["stats"]) => sum((o) => c.nodes[o]!.swim.stats[k]);
  const rejected = sum((o) => Object.values(c.nodes[o]!.claimStats()!.rejected).reduce((a, x) => a + x, 0));
  console.log(
    `N=${n}: ${(c.now / MINUTE).toFixed(1)} virtual min, ${c.steps} steps, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; sent ${JSON.stringify(byz.sent)}; ` +
      `paused dead everywhere in ${pausedDead} ms, crash in ${crashDead} ms; refused: ${stats("invalidIncarnations")} incarnations, ` +
      `${stats("unprovenAcks")} unproven acks, ${stats("addressConflicts")} address claims, ${stats("pingReqsRefused")} ping-reqs, ${rejected} claims`,
  );

  expect(breaches).toEqual([]);
  expect(pausedDead).toBeDefined();
  expect(pausedDead!).toBeLessThan(b.pausedDeadMs);
  expect(crashDead).toBeDefined();
  expect(crashDead!).toBeLessThan(b.crashDeadMs);
  for (const o of honest) {
    const swim = c.nodes[o]!.swim;
    // Every honest member sees every other alive; phantoms and impostors are gone or dead.
    for (const t of honest) expect(o === t || c.stateOf(o, t) === "alive").toBe(true);
    for (const id of [...phantoms, ...impostors]) expect(["dead", undefined]).toContain(swim.member(id)?.state);
  }
  for (const k of ["invalidIncarnations", "unprovenAcks", "addressConflicts", "pingReqsRefused"] as const) expect(stats(k)).toBeGreaterThan(0);
  expect(rejected).toBeGreaterThan(0);
}

describe("a byzantine member mounts every attack for ten virtual minutes (invariants checked at every step)", () => {
  test("N=20", () => campaign(20, 6101, { pausedDeadMs: 15_000, crashDeadMs: 10_000, forgeEveryMs: 100, impersonateEveryMs: 30_000 }), 120_000);
  test("N=100", () => campaign(100, 6102, { pausedDeadMs: 25_000, crashDeadMs: 10_000, forgeEveryMs: 500, impersonateEveryMs: 90_000 }), 300_000);
});
