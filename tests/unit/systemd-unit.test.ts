/** systemd/dsef.service and its env file, read as text: what a bare-metal host relies on is there. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { helpText, type NodeConfig, parseNodeConfig } from "../../src/config/node-config.ts";

const ROOT = join(import.meta.dir, "../..");
const unit = readFileSync(join(ROOT, "systemd/dsef.service"), "utf8");
const envFile = readFileSync(join(ROOT, "systemd/dsef.env"), "utf8");

/** The unit's settings, each key with every value it is given. */
function settings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("[")) continue;
    const i = line.indexOf("=");
    const k = line.slice(0, i);
    out.set(k, [...(out.get(k) ?? []), line.slice(i + 1)]);
  }
  return out;
}

/** VAR=value lines as systemd's EnvironmentFile reads them; with `commented`, the #VAR=value ones too. */
function envOf(text: string, commented = false): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const m = (commented ? /^#?([A-Z_][A-Z0-9_]*)=(.*)$/ : /^([A-Z_][A-Z0-9_]*)=(.*)$/).exec(raw.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

describe("dsef.service", () => {
  const s = settings(unit);
  const one = (k: string) => s.get(k)?.at(-1);

  test("runs the installed binary as a dedicated user, keeps its identity in its state directory", () => {
    expect(one("ExecStart")).toBe("/usr/local/bin/dsef node");
    expect(one("User")).toBe("dsef");
    expect(one("StateDirectory")).toBe("dsef");
    expect(s.get("Environment")).toContain("DSEF_DATA_DIR=/var/lib/dsef");
    expect(one("EnvironmentFile")).toBe("/etc/dsef/dsef.env");
  });

  test("reloads with SIGHUP, leaves on SIGTERM, restarts on failure but not on a bad flag", () => {
    expect(one("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(one("KillSignal")).toBe("SIGTERM");
    expect(one("Restart")).toBe("on-failure");
    expect(one("RestartPreventExitStatus")).toBe("2");
  });

  test("is hardened", () => {
    for (const [k, v] of [
      ["ProtectSystem", "strict"],
      ["NoNewPrivileges", "yes"],
      ["ProtectHome", "yes"],
      ["PrivateTmp", "yes"],
      ["CapabilityBoundingSet", ""],
      ["RestrictSUIDSGID", "yes"],
    ])
      expect({ k, v: one(k!) }).toEqual({ k, v });
    expect(s.get("SystemCallFilter")).toEqual(["@system-service", "~@privileged"]);
    // The JIT needs writable executable memory.
    expect(s.has("MemoryDenyWriteExecute")).toBe(false);
  });
});

describe("dsef.env", () => {
  const known = new Set([...helpText().matchAll(/\[(DSEF_\w+)\]/g)].map((m) => m[1]!));

  test("names only the node's own variables, set or commented out", () => {
    const unknown = Object.keys(envOf(envFile, true)).filter((k) => !known.has(k));
    expect(unknown).toEqual([]);
  });

  test("is a valid configuration as shipped and with every example uncommented", () => {
    for (const commented of [false, true]) {
      // --ip auto needs a network interface; the rest is checked as the node would.
      const env = { ...envOf(envFile, commented), DSEF_IP: "10.0.0.5", DSEF_DATA_DIR: "/var/lib/dsef", DSEF_LOG_FORMAT: "json" };
      const c = parseNodeConfig([], env) as NodeConfig;
      expect(c.port).toBe(5000);
      expect(c.clusterKeyFile).toBe("/etc/dsef/cluster-key");
      expect(c.bootstrap).toEqual(["10.0.0.4:5000", "10.0.0.6:5000"]);
      if (commented) expect(c.eventHandlers[0]!.events).toEqual(["member-leave", "member-failed"]);
    }
  });
});
