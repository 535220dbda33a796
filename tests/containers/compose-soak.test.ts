/**
 * A short nemesis soak against the project's docker-compose.yml, as a user runs it: the three
 * edges under ESP simulator load (a `compose run` of the esp service: 20 devices, ~1100 units/s,
 * half of what the edges promise and within what two of them do), while
 * edge2 is killed (`compose kill`) or stopped gracefully (`compose stop`) and started again, on
 * a seeded schedule (DSEF_SOAK_SEED replays it). The same checker as the loopback soak reads
 * every edge's /peers and /status about once a second, from inside edge1: one cluster within
 * 10 s of each start (container start included), no false deaths, every edge knowing every
 * live peer's load, no schema drops, and no packet the devices sent lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "../../src/util/random.ts";
import { Checker, type NodeReading } from "../support/nemesis/checker.ts";
import { composeCommand, docker, engine, freePort, ROOT, run, testImage } from "./docker.ts";

const hasSimulator = existsSync(join(ROOT, "esp/simulator.ts"));
const EDGES = ["edge1", "edge2", "edge3"];
const VICTIM = "edge2";
/** From `compose start` to one cluster: the container's start, the node's start and its rejoin. */
const REJOIN_BOUND_MS = 10_000;
const POLL_MS = 1000;
const FAULTS = 3;
const ESP_DURATION_S = 75;

/** Read every edge's /peers and /status from inside edge1 (one exec per round; edge1 is never faulted). */
const POLL_SCRIPT = `
const get = async (h, p) => (await fetch("http://" + h + ":5000" + p, { signal: AbortSignal.timeout(1500) })).json();
const out = {};
await Promise.all(${JSON.stringify(EDGES)}.map(async (h) => {
  try { out[h] = { peers: await get(h, "/peers"), status: await get(h, "/status") }; } catch { out[h] = null; }
}));
process.stdout.write(JSON.stringify(out));`;

describe.skipIf(!engine || !hasSimulator)("docker-compose.yml under faults and device load (compose soak)", () => {
  const project = `dsefcomposesoak${process.pid}`;
  let compose: string[] = [];
  let env: Record<string, string> = {};
  let espId = "";
  const c = (...args: string[]) => run([...compose, "-p", project, "-f", join(ROOT, "docker-compose.yml"), ...args], { env, timeoutMs: 180_000 });
  const must = async (...args: string[]) => {
    const r = await c(...args);
    if (r.code !== 0) throw new Error(`compose ${args.join(" ")} failed (${r.code}): ${r.err.trim()}`);
    return r.out.trim();
  };
  const containerOf = async (service: string) =>
    (
      await docker(
        "ps",
        "-aq",
        "--filter",
        `label=com.docker.compose.project=${project}`,
        "--filter",
        `label=com.docker.compose.service=${service}`,
        "--filter",
        "label=com.docker.compose.oneoff=False",
      )
    ).split("\n")[0]!;

  beforeAll(async () => {
    const cmd = await composeCommand();
    if (!cmd) throw new Error("neither `docker compose` nor docker-compose is installed");
    compose = cmd;
    env = { DSEF_IMAGE: await testImage(), DSEF_DASHBOARD_PORT: String(await freePort()), DSEF_LOG_LEVEL: "debug" };
    await must("up", "-d", "--no-build", "--scale", "esp=0");
  }, 240_000);

  afterAll(async () => {
    if (espId) await run(["docker", "rm", "-f", "-v", espId]);
    await c("down", "-v", "-t", "5");
  }, 120_000);

  it("edge2 killed and stopped under device load: it rejoins each time, and every invariant holds", async () => {
    const seed = process.env.DSEF_SOAK_SEED ? Number(process.env.DSEF_SOAK_SEED) : Math.floor(Math.random() * 2 ** 31);
    const random = seededRandom(seed);
    const edge1 = await containerOf("edge1");
    const victim = await containerOf(VICTIM);
    // Devices and peers know edge2 by address: say so if `compose start` gives it another one.
    const addressOf = (id: string) => docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", id);
    let victimIp = await addressOf(victim);
    const t0 = performance.now();
    const clock = () => performance.now() - t0;
    const checker = new Checker({ probeMs: 1000, pollMs: POLL_MS, loadBoundMs: 2 * 1000 + 2 * POLL_MS, loadSettleMs: 3000 });
    let printed = 0;
    const flush = () => {
      for (; printed < checker.timeline.length; printed++) {
        const e = checker.timeline[printed]!;
        console.log(`  [${(e.at / 1000).toFixed(1).padStart(5)} s] ${e.text}`);
      }
    };
    const note = (text: string) => {
      checker.note(clock(), text);
      flush();
    };
    note(`compose soak, seed ${seed} (replay: DSEF_SOAK_SEED=${seed})`);

    // ---- the checker's poll loop: one exec into edge1 per round ----
    const generation = new Map(EDGES.map((e) => [e, 0]));
    let victimUp = true;
    let polling = true;
    let lastRoundAt = -1;
    let last: NodeReading[] = [];
    for (const e of EDGES) checker.nodeStarted(0, e);
    const poller = (async () => {
      while (polling) {
        const at = clock();
        const gen = generation.get(VICTIM)!;
        // The image has no bun: BUN_BE_BUN=1 makes its dsef binary run the script.
        const r = await run(["docker", "exec", "-e", "BUN_BE_BUN=1", edge1, "dsef", "-e", POLL_SCRIPT], { timeoutMs: 10_000 });
        let views: Record<string, { peers: NodeReading["peers"]; status: Record<string, any> } | null> = {};
        try {
          views = JSON.parse(r.out);
        } catch {
          // exec failed: an empty round
        }
        last = EDGES.filter((e) => e !== VICTIM || (victimUp && gen === generation.get(VICTIM))).map((name) => {
          const v = views[name];
          if (!v) return { name, generation: generation.get(name)! };
          const t = v.status.transport ?? {};
          return {
            name,
            generation: generation.get(name)!,
            peers: v.peers,
            ready: v.status.ready === true,
            counters: {
              schema: t.drops?.schema ?? 0,
              malformed: t.drops?.malformed ?? 0,
              updatesDropped: t.updatesDropped ?? 0,
              entriesDropped: v.status.member_table?.entriesDropped ?? 0,
            },
          };
        });
        checker.round(at, last);
        lastRoundAt = at;
        flush();
        await Bun.sleep(Math.max(0, at + POLL_MS - clock()));
      }
    })();
    const waitWhole = async (since: number, capMs: number): Promise<number | undefined> => {
      while (clock() - since < capMs) {
        await Bun.sleep(100);
        const whole = checker.wholeSince;
        if (whole !== undefined && lastRoundAt >= since) return Math.max(whole, since) - since;
      }
      return undefined;
    };

    const rejoinMs: number[] = [];
    let report: Record<string, any> = {};
    try {
      const formed = await waitWhole(0, 90_000);
      if (formed === undefined) throw new Error(`the three edges did not form one cluster: ${checker.gaps(last)}`);
      checker.faultEnded(clock());
      note("edge1..3 form one cluster");

      // ---- device load: the compose file's esp service, 20 devices in one container ----
      espId = await must(
        ...["run", "-d", "--no-deps", "esp", "--bootstrap", "http://edge:5000", "--devices", "20", "--interval", "1", "--min-load", "10", "--max-load", "100"],
        ...["--seed", String(seed), "--duration", String(ESP_DURATION_S), "--report-json", "/tmp/report.json"],
      );
      espId = espId.split("\n").at(-1)!.trim();
      note(`ESP simulator running (${espId}): 20 devices, a packet every second each, for ${ESP_DURATION_S} s`);
      await Bun.sleep(8000);

      for (let i = 0; i < FAULTS; i++) {
        const kind = i % 2 === 0 ? "kill" : "stop";
        const downMs = Math.round(2000 + random() * 4000);
        note(`fault ${i + 1}: compose ${kind} ${VICTIM}, start again after ${(downMs / 1000).toFixed(1)} s`);
        checker.faultStarted(clock(), { kind: kind === "kill" ? "kill" : "leave", target: VICTIM, durationMs: downMs });
        victimUp = false;
        checker.nodeDown(VICTIM);
        await must(...(kind === "kill" ? ["kill", VICTIM] : ["stop", "-t", "10", VICTIM]));
        await Bun.sleep(downMs);
        const startedAt = clock();
        generation.set(VICTIM, generation.get(VICTIM)! + 1);
        await must("start", VICTIM);
        const ip = await addressOf(victim);
        if (ip !== victimIp) note(`${VICTIM} came back at ${ip} (was ${victimIp})`);
        victimIp = ip;
        victimUp = true;
        checker.nodeStarted(clock(), VICTIM);
        checker.faultHealed();
        const ms = await waitWhole(startedAt, 3 * REJOIN_BOUND_MS);
        if (ms === undefined) {
          checker.fail(
            clock(),
            "one cluster",
            `${VICTIM} not back in one cluster ${(3 * REJOIN_BOUND_MS) / 1000} s after compose start: ${checker.gaps(last)}`,
          );
          break;
        }
        rejoinMs.push(ms);
        checker.recordConvergence(kind === "kill" ? "kill" : "leave", ms, REJOIN_BOUND_MS);
        if (ms > REJOIN_BOUND_MS)
          checker.fail(
            clock(),
            "one cluster",
            `${VICTIM} back in one cluster only ${(ms / 1000).toFixed(1)} s after compose start (bound ${REJOIN_BOUND_MS / 1000} s)`,
          );
        note(`one cluster again ${(ms / 1000).toFixed(1)} s after compose start`);
        checker.faultEnded(clock());
        await Bun.sleep(3000 + random() * 2000);
      }

      // ---- the devices finish their run and report ----
      const waited = await run(["docker", "wait", espId], { timeoutMs: (ESP_DURATION_S + 60) * 1000 });
      note(`ESP simulator exited with ${waited.out.trim()}`);
      const dir = mkdtempSync(join(tmpdir(), "dsef-compose-soak-"));
      await docker("cp", `${espId}:/tmp/report.json`, join(dir, "report.json"));
      report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
    } finally {
      polling = false;
      await poller;
    }

    // No acknowledged packet lost: the devices' report, and every packet logged as accepted by an edge.
    // Every container's log is kept in logDir (the containers go with `compose down`).
    const logDir = mkdtempSync(join(tmpdir(), "dsef-compose-soak-logs-"));
    if (espId) {
      const logs = await run(["docker", "logs", espId], { timeoutMs: 60_000 });
      writeFileSync(join(logDir, "esp.log"), `${logs.out}\n${logs.err}`);
    }
    const taken = new Set<string>();
    for (const e of EDGES) {
      const logs = await run(["docker", "logs", await containerOf(e)], { timeoutMs: 60_000 });
      writeFileSync(join(logDir, `${e}.log`), `${logs.out}\n${logs.err}`);
      for (const line of `${logs.out}\n${logs.err}`.split("\n")) {
        if (!line.includes('"packet accepted"')) continue;
        try {
          taken.add(JSON.parse(line).packet_id);
        } catch {
          // not a whole JSON line
        }
      }
    }
    if (report.lost !== 0) checker.fail(clock(), "no packet lost", `the devices lost ${report.lost} of ${report.sent} packets`);
    if (taken.size < report.acknowledged)
      checker.fail(clock(), "no packet lost", `${report.acknowledged} packets acknowledged, ${taken.size} logged as accepted`);
    flush();
    console.log(
      `  devices: sent ${report.sent}, acknowledged ${report.acknowledged}, lost ${report.lost}, failovers ${report.failovers}, 503s ${report.rejected_503}; logged accepted ${taken.size}`,
    );
    console.log(
      `  ${VICTIM} back in one cluster after compose start: ${rejoinMs.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(", ")}; ${checker.rounds} rounds, ${checker.checkedLoadPairs} load checks`,
    );

    expect(
      checker.violations.map((v) => `${v.invariant}: ${v.text}`),
      `seed ${seed} (replay with DSEF_SOAK_SEED=${seed}); container logs in ${logDir}`,
    ).toEqual([]);
    expect(rejoinMs).toHaveLength(FAULTS);
    expect(report.sent).toBeGreaterThan(1000);
  }, 420_000);
});
