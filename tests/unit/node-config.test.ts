import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type NodeConfig, parseNodeConfig } from "../../src/config/node-config.ts";
import { defaultDataDir } from "../../src/config/state-dir.ts";
import { resolveBootstrap } from "../../src/runtime/bootstrap.ts";
import { UsageError } from "../../src/util/usage-error.ts";

const parse = (argv: string[], env: Record<string, string> = {}) => parseNodeConfig(argv, env);

describe("node flags", () => {
  test("the seed's command lines work as they are", () => {
    const c = parse(["--ip", "127.0.0.1", "--port", "5001", "--promised_capacity", "800", "--bootstrap", "http://127.0.0.1:5000"]);
    if (c === "help") throw new Error("unexpected help");
    expect(c.port).toBe(5001);
    expect(c.gossipPort).toBe(5001);
    expect(c.capacity).toBe(800);
    expect(c.bootstrap).toEqual(["http://127.0.0.1:5000"]);
    expect(c.timing.probeIntervalMs).toBe(1000);
    expect(c.timing.probeTimeoutMs).toBe(500);
  });

  test("every flag has a DSEF_ twin; flags beat the environment", () => {
    const c = parse(["--port", "7000"], { DSEF_PORT: "6000", DSEF_PROMISED_CAPACITY: "300", DSEF_PROFILE: "local", DSEF_GOSSIP_PORT: "7001" });
    if (c === "help") throw new Error("unexpected help");
    expect(c.port).toBe(7000);
    expect(c.capacity).toBe(300);
    expect(c.gossipPort).toBe(7001);
    expect(c.profile).toBe("local");
    expect(c.timing.probeIntervalMs).toBe(500);
  });

  test("a profile sets defaults that single flags override", () => {
    const c = parse(["--profile", "wan", "--probe-interval", "2s", "--probe-timeout", "800ms"]);
    if (c === "help") throw new Error("unexpected help");
    expect(c.timing.probeIntervalMs).toBe(2000);
    expect(c.timing.probeTimeoutMs).toBe(800);
    expect(c.timing.suspicionMult).toBe(6);
  });

  test("bad flags give a one-line UsageError", () => {
    const bad = [
      ["--port", "99999"],
      ["--port", "abc"],
      ["--promised_capacity", "-5"],
      ["--profile", "moon"],
      ["--nope"],
      ["--probe-interval", "fast"],
      ["--probe-interval", "500ms", "--probe-timeout", "600ms"],
      ["positional"],
    ];
    for (const argv of bad) {
      expect(() => parse(argv)).toThrow(UsageError);
      try {
        parse(argv);
      } catch (e) {
        expect((e as Error).message).not.toContain("\n");
      }
    }
    expect(() => parse([], { DSEF_PORT: "0" })).toThrow(/DSEF_PORT/);
  });

  test("--cluster-key and --cluster-key-file together are a usage error", () => {
    expect(() => parse(["--cluster-key", "k"], { DSEF_CLUSTER_KEY_FILE: "/etc/k" })).toThrow(/--cluster-key-file: give either it or --cluster-key/);
  });

  test("the default data dir is per user and per port, never relative to the working directory", () => {
    const home = "/home/ada";
    const dir = (argv: string[], env: Record<string, string>) => (parse(argv, env) as NodeConfig).dataDir;
    expect(dir(["--port", "5001"], { HOME: home })).toBe("/home/ada/.local/state/dsef/5001");
    expect(dir([], { HOME: home, XDG_STATE_HOME: "/var/lib/ada" })).toBe("/var/lib/ada/dsef/5000");
    // XDG says a relative XDG_STATE_HOME is invalid and ignored.
    expect(dir([], { HOME: home, XDG_STATE_HOME: "state" })).toBe("/home/ada/.local/state/dsef/5000");
    expect(defaultDataDir(5000, {}, () => "/root")).toBe("/root/.local/state/dsef/5000");
    // A key left by an earlier version in ./.dsef/<port> is kept (same identity after an upgrade)…
    const legacy = join(process.cwd(), ".dsef", "5000");
    expect(
      defaultDataDir(
        5000,
        {},
        () => "/root",
        (p) => p === join(legacy, "node.key"),
      ),
    ).toBe(legacy);
    // …unless the per-user dir already has one.
    expect(
      defaultDataDir(
        5000,
        {},
        () => "/root",
        () => true,
      ),
    ).toBe("/root/.local/state/dsef/5000");
    // An explicit relative dir is made absolute once, at start.
    expect(dir(["--data-dir", "keys"], { HOME: home })).toBe(join(process.cwd(), "keys"));
  });

  test("--help is recognised", () => {
    expect(parse(["--help"])).toBe("help");
  });
});

describe("bootstrap entries", () => {
  test("lists and DNS names resolve to every address", async () => {
    const got = await resolveBootstrap(["127.0.0.1:5000", "http://localhost:5001", "no-such-host.invalid:5000"]);
    expect(got).toContain("127.0.0.1:5000");
    expect(got.some((a) => a.endsWith(":5001"))).toBe(true);
    expect(got).toHaveLength(got.filter((a) => !a.includes("invalid")).length);
  });

  test("a bad bootstrap flag is a usage error at start", () => {
    expect(() => parse(["--bootstrap", "http://"])).toThrow(UsageError);
  });
});

test("help lists every flag with its environment twin", async () => {
  const { helpText } = await import(join("../../src/config/node-config.ts"));
  const text: string = helpText();
  for (const f of ["--ip", "--port", "--promised_capacity", "--bootstrap", "--gossip-port", "--profile", "--data-dir"]) expect(text).toContain(f);
  expect(text).toContain("DSEF_BOOTSTRAP");
});
