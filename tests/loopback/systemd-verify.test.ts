/**
 * systemd/dsef.service checked offline by systemd itself: `systemd-analyze verify` (no unknown
 * key, no bad value) and `systemd-analyze security --offline` (the exposure score). The binary is
 * not installed here, so the copy checked runs a stub at the ExecStart path; everything else is
 * the file as shipped. Then a node runs under strace through start, join, a packet, a hook, a
 * webhook, a reload and a leave, and every system call it made must pass the unit's
 * SystemCallFilter. .ci/run installs systemd and strace: in CI a missing tool is a failure.
 */
import { expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocPorts, BUN, ROOT, waitUntil } from "../support/processes.ts";

const analyze = Bun.which("systemd-analyze");
const inCi = process.env.CI === "true";

test.if(inCi && !analyze)("systemd-analyze is installed for the unit check", () => {
  throw new Error("systemd-analyze is missing: apt-get install -y systemd (.ci/run does)");
});

if (!analyze && !inCi) console.log("skip: systemd/dsef.service not verified (no systemd-analyze; apt-get install systemd)");

test.skipIf(!analyze)("dsef.service passes systemd-analyze verify, with a low exposure score", () => {
  const dir = mkdtempSync(join(tmpdir(), "dsef-unit-"));
  const stub = join(dir, "dsef");
  writeFileSync(stub, "#!/bin/sh\nexit 0\n");
  chmodSync(stub, 0o755);
  const text = readFileSync(join(ROOT, "systemd/dsef.service"), "utf8");
  expect(text).toContain("ExecStart=/usr/local/bin/dsef node");
  const copy = join(dir, "dsef.service");
  writeFileSync(copy, text.replaceAll("/usr/local/bin/dsef", stub));

  const verify = Bun.spawnSync([analyze!, "verify", copy], { stderr: "pipe", stdout: "pipe" });
  const said = (verify.stdout.toString() + verify.stderr.toString()).trim();
  // verify exits 0 even for unknown keys; it says so on stderr, so any word from it is a failure.
  expect({ code: verify.exitCode, said }).toEqual({ code: 0, said: "" });

  const security = Bun.spawnSync([analyze!, "security", "--offline=true", "--no-pager", copy], { stderr: "pipe", stdout: "pipe" });
  const m = /Overall exposure level for dsef\.service: ([\d.]+)/.exec(security.stdout.toString() + security.stderr.toString());
  expect(m).not.toBeNull();
  console.log(`systemd-analyze security: exposure ${m![1]} (0 = most restricted, 10 = none)`);
  expect(Number(m![1])).toBeLessThanOrEqual(2);
});

/** Every group of `systemd-analyze syscall-filter`, expanded to system call names. */
function syscallGroups(): Map<string, Set<string>> {
  const text = Bun.spawnSync([analyze!, "syscall-filter"], { stderr: "ignore" }).stdout.toString();
  const raw = new Map<string, string[]>();
  let group = "";
  for (const line of text.split("\n")) {
    if (line.startsWith("@")) raw.set((group = line.trim()), []);
    else if (group && /^\s+[@\w-]+$/.test(line)) raw.get(group)!.push(line.trim());
  }
  const expand = (g: string, seen = new Set<string>()): Set<string> => {
    const out = new Set<string>();
    if (seen.has(g)) return out;
    seen.add(g);
    for (const e of raw.get(g) ?? []) for (const x of e.startsWith("@") ? expand(e, seen) : [e]) out.add(x);
    return out;
  };
  return new Map([...raw.keys()].map((g) => [g, expand(g)]));
}

const strace = Bun.which("strace");
const canTrace = strace !== null && Bun.spawnSync([strace, "-f", "-qq", "-o", "/dev/null", "true"]).exitCode === 0;
test.if(inCi && !strace)("strace is installed for the system call check", () => {
  throw new Error("strace is missing: apt-get install -y strace (.ci/run does)");
});
if (strace && !canTrace) console.log("skip: the system call check (strace cannot trace here: ptrace not permitted)");

test.skipIf(!analyze || !canTrace)(
  "every system call a node makes (start, join, a packet, a hook, a webhook, a reload, a leave) is in the unit's SystemCallFilter",
  async () => {
    const groups = syscallGroups();
    const filters = [...readFileSync(join(ROOT, "systemd/dsef.service"), "utf8").matchAll(/^SystemCallFilter=(.*)$/gm)].map((m) => m[1]!.trim());
    const allowed = new Set<string>();
    for (const f of filters.filter((f) => !f.startsWith("~"))) for (const w of f.split(/\s+/)) for (const c of groups.get(w) ?? [w]) allowed.add(c);
    for (const f of filters.filter((f) => f.startsWith("~"))) for (const w of f.slice(1).split(/\s+/)) for (const c of groups.get(w) ?? [w]) allowed.delete(c);
    expect(allowed.size).toBeGreaterThan(200);

    const dir = mkdtempSync(join(tmpdir(), "dsef-strace-"));
    const keyFile = join(dir, "cluster-key");
    writeFileSync(keyFile, "strace-check-cluster-key-0123456789\n", { mode: 0o600 });
    let hits = 0;
    const receiver = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => (hits++, new Response(null, { status: 204 })) });
    const [pa, pb] = allocPorts(2) as [number, number];
    const trace = join(dir, "trace");
    const common = ["--ip", "127.0.0.1", "--cluster-key-file", keyFile, "--log-format", "json", "--leave-grace", "200ms"];
    const traced = Bun.spawn(
      [
        strace!,
        "-f",
        "-qq",
        "-o",
        trace,
        BUN,
        join(ROOT, "src/main.ts"),
        ...common,
        "--port",
        String(pa),
        "--data-dir",
        join(dir, "a"),
        "--event-handler",
        "cat > /dev/null",
        "--webhook",
        `http://127.0.0.1:${receiver.port}/`,
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    const other = Bun.spawn([BUN, join(ROOT, "src/main.ts"), ...common, "--port", String(pb), "--data-dir", join(dir, "b"), "--bootstrap", `127.0.0.1:${pa}`], {
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      await waitUntil(
        async () =>
          (await fetch(`http://127.0.0.1:${pa}/peers`)).ok && ((await (await fetch(`http://127.0.0.1:${pa}/peers`)).json()) as unknown[]).length === 2,
        30_000,
      );
      await fetch(`http://127.0.0.1:${pa}/handle_request`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"processing_load": 1}' });
      await waitUntil(() => hits > 0, 10_000);
      const node = Number(readFileSync(`/proc/${traced.pid}/task/${traced.pid}/children`, "utf8").trim().split(" ")[0]);
      process.kill(node, "SIGHUP");
      await Bun.sleep(300);
      process.kill(node, "SIGTERM");
      expect(await traced.exited).toBe(0);
    } finally {
      other.kill("SIGKILL");
      traced.kill("SIGKILL");
      receiver.stop(true);
    }
    const used = new Set([...readFileSync(trace, "utf8").matchAll(/^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ]/gm)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(30);
    const outside = [...used].filter((c) => !allowed.has(c) && c !== "exited" && c !== "killed");
    expect(outside).toEqual([]);
  },
  60_000,
);
