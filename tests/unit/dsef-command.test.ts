/** The `dsef` dispatcher and the health check's URL rules (pure parts). */
import { describe, expect, test } from "bun:test";
import { route } from "../../src/cli/dsef.ts";
import { healthUrl, parseHealthArgs } from "../../src/cli/health-command.ts";
import { isNodeCommandLine } from "../../src/cli/reload-command.ts";
import { UsageError } from "../../src/util/usage-error.ts";

describe("dsef route", () => {
  test("a subcommand gets the rest of the arguments", () => {
    expect(route(["esp", "--bootstrap", "http://a:5000"])).toEqual({ command: "esp", args: ["--bootstrap", "http://a:5000"] });
    expect(route(["members", "--json"])).toEqual({ command: "members", args: ["--json"] });
    expect(route(["frobnicate"])).toEqual({ command: "frobnicate", args: [] });
  });
  test("a first argument that is a flag runs the node with every argument (the image passes node flags)", () => {
    expect(route(["--port", "5000", "--promised_capacity", "800"])).toEqual({ command: "node", args: ["--port", "5000", "--promised_capacity", "800"] });
  });
  test("help and version, also with no arguments", () => {
    for (const a of [[], ["--help"], ["-h"], ["help"]]) expect(route(a)).toBe("help");
    for (const a of [["--version"], ["-v"], ["version"]]) expect(route(a)).toBe("version");
    // After a subcommand, --help is that command's.
    expect(route(["node", "--help"])).toEqual({ command: "node", args: ["--help"] });
  });
});

describe("dsef health URL", () => {
  test("default: this container's node on DSEF_PORT, /health or /ready", () => {
    expect(healthUrl(undefined, {}, false)).toBe("http://127.0.0.1:5000/health");
    expect(healthUrl(undefined, { DSEF_PORT: "6100" }, false)).toBe("http://127.0.0.1:6100/health");
    expect(healthUrl(undefined, { DSEF_PORT: "" }, true)).toBe("http://127.0.0.1:5000/ready");
  });
  test("host:port or a base URL gets the path; a full URL is kept", () => {
    expect(healthUrl("10.0.0.5:5000", {}, false)).toBe("http://10.0.0.5:5000/health");
    expect(healthUrl("http://edge1:5000/", {}, true)).toBe("http://edge1:5000/ready");
    expect(healthUrl("http://edge1:5000/status", {}, false)).toBe("http://edge1:5000/status");
  });
  test("something that is not a URL is a usage error", () => {
    expect(() => healthUrl("http://[nope", {}, false)).toThrow(UsageError);
  });
  test("arguments: one URL, --ready, --timeout MS (or =MS), --help; anything else is a usage error", () => {
    expect(parseHealthArgs([])).toEqual({ ready: false, timeoutMs: 2000 });
    expect(parseHealthArgs(["edge:5000", "--ready", "--timeout", "500"])).toEqual({ url: "edge:5000", ready: true, timeoutMs: 500 });
    expect(parseHealthArgs(["--timeout=750"])).toEqual({ ready: false, timeoutMs: 750 });
    expect(parseHealthArgs(["x", "--help"])).toBe("help");
    for (const bad of [["--timeout"], ["--timeout", "0"], ["--timeout", "soon"], ["--nope"], ["a", "b"], ["--ready=yes"]])
      expect(() => parseHealthArgs(bad), bad.join(" ")).toThrow(UsageError);
  });
});

describe("dsef reload: which processes are nodes", () => {
  const cmd = (...argv: string[]) => `${argv.join("\0")}\0`;
  test("the binary running a node, in any of its spellings, and a node from source", () => {
    expect(isNodeCommandLine(cmd("/usr/local/bin/dsef", "node"))).toBe(true);
    expect(isNodeCommandLine(cmd("/usr/local/bin/dsef", "--promised_capacity", "1000"))).toBe(true);
    expect(isNodeCommandLine(cmd("dsef"))).toBe(true);
    expect(isNodeCommandLine(cmd("/usr/bin/bun", "/srv/dsef/src/main.ts", "--port", "5000"))).toBe(true);
    expect(isNodeCommandLine(cmd("bun", "src/cli/dsef.ts", "node", "--port", "5000"))).toBe(true);
  });
  test("not an init, a shell, or another dsef command", () => {
    expect(isNodeCommandLine(cmd("/sbin/init"))).toBe(false);
    expect(isNodeCommandLine(cmd("/lib/systemd/systemd", "--system"))).toBe(false);
    expect(isNodeCommandLine(cmd("/usr/local/bin/dsef", "esp", "--bootstrap", "x"))).toBe(false);
    expect(isNodeCommandLine(cmd("/usr/local/bin/dsef", "health"))).toBe(false);
    expect(isNodeCommandLine(cmd("bun", "src/cli/dsef.ts", "members"))).toBe(false);
    expect(isNodeCommandLine("")).toBe(false);
  });
});
