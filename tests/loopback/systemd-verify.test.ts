/**
 * systemd/dsef.service checked offline by systemd itself: `systemd-analyze verify` (no unknown
 * key, no bad value) and `systemd-analyze security --offline` (the exposure score). The binary is
 * not installed here, so the copy checked runs a stub at the ExecStart path; everything else is
 * the file as shipped. .ci/run installs systemd: in CI a missing tool is a failure, not a skip.
 */
import { expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../support/processes.ts";

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
