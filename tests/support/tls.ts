/**
 * One TLS authority for the whole test process: Bun (1.3.5) keeps the first custom CA a
 * process passed to fetch for all later calls, so every TLS test in a `bun test` run must
 * trust the same one. Made once with `dsef ca init`, as an operator would.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, ROOT } from "./processes.ts";

let dir: string | undefined;

function dsef(...args: string[]): void {
  const p = Bun.spawnSync([BUN, join(ROOT, "src/cli/dsef.ts"), ...args], { stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`dsef ${args.join(" ")}: ${p.stderr.toString()}`);
}

/** The process's cluster authority: its directory (ca.key, tls-ca.crt, ...). */
export function testAuthority(): { dir: string; caFile: string; caPem: string } {
  if (!dir) {
    dir = join(mkdtempSync(join(tmpdir(), "dsef-test-ca-")), "ca");
    dsef("ca", "init", "--dir", dir);
  }
  const caFile = join(dir, "tls-ca.crt");
  return { dir, caFile, caPem: readFileSync(caFile, "utf8") };
}

/** A data dir holding a TLS certificate from the test authority for `names` (IPs or DNS names). */
export function tlsDataDir(names: readonly string[] = ["127.0.0.1"], caDir = testAuthority().dir): string {
  const d = mkdtempSync(join(tmpdir(), "dsef-tls-node-"));
  dsef(
    "ca",
    "issue",
    "--tls",
    "--ca-key",
    join(caDir, "ca.key"),
    "--data-dir",
    d,
    ...names.flatMap((n) => (/^[\d.]+$|:/.test(n) ? ["--ip", n] : ["--dns", n])),
  );
  return d;
}

export const tlsFlags = (dataDir: string, caFile = testAuthority().caFile): string[] => [
  "--tls-cert",
  join(dataDir, "tls.crt"),
  "--tls-key",
  join(dataDir, "tls.key"),
  "--tls-ca",
  caFile,
];
