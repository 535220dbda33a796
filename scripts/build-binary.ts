#!/usr/bin/env bun
/**
 * Build `dsef`, the single executable: node, ESP simulator and operator CLI, with the Bun
 * runtime, every dependency and the dashboard page inside. Copy the one file anywhere with the
 * same OS and CPU (glibc Linux for the default target) and run it; nothing else is needed.
 *
 *   bun scripts/build-binary.ts                       # -> dist/dsef (this machine's platform)
 *   bun scripts/build-binary.ts --outfile /out/dsef --target bun-linux-arm64
 *
 * A --target other than this machine's makes Bun fetch that platform's runtime from the npm
 * registry on first use. Also writes <outfile>.sha256 for the release page.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = join(import.meta.dir, "..");
export const ENTRY = join(ROOT, "src/cli/dsef.ts");
/** The --handler pool's Worker: a Worker's file must be an entrypoint of the binary to be found in it. */
export const WORKER_ENTRY = join(ROOT, "src/load/handler-worker.ts");

export interface BuildOptions {
  /** A Bun compile target (bun-linux-arm64, bun-linux-x64-musl, ...); default: this machine. */
  target?: string;
  /**
   * Embed a source map: stack traces name the TypeScript files and lines, but every node then
   * holds it in memory (measured: +8 MB RSS per node). Off for releases.
   */
  sourcemap?: boolean;
}

/**
 * The `bun build` command line. Pure. Chosen by measurement (docs/BENCHMARKS.md): --minify
 * saves 1.5 MB RSS per node; --bytecode (precompiled, so nothing is parsed at start) starts the
 * node in ~35 ms instead of ~75 ms at the same RSS since Bun 1.4 compiles ES modules to bytecode
 * (1.3 needed a CommonJS bundle and cost 17 MB); --compile-exec-argv=--smol saves nothing measurable.
 */
export function buildArgv(bun: string, outfile: string, o: BuildOptions = {}): string[] {
  return [
    bun,
    "build",
    "--compile",
    "--minify",
    "--bytecode",
    "--format=esm",
    // One chunk per subcommand: `dsef health` (every 10 s in a container) and the CLI evaluate
    // only their own code, not the node's (measured: --version 0.2 s -> 0.03 s, 48 -> 33 MB).
    "--splitting",
    ...(o.sourcemap ? ["--sourcemap"] : []),
    // A deployed binary must not change behaviour because of a stray .env or bunfig.toml in
    // whatever directory it was started from.
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    ...(o.target ? [`--target=${o.target}`] : []),
    ENTRY,
    WORKER_ENTRY,
    "--outfile",
    outfile,
  ];
}

export interface Built {
  outfile: string;
  bytes: number;
  sha256: string;
}

/** Compile the binary; throws with Bun's output when the build fails. */
export function buildBinary(outfile: string, o: BuildOptions = {}, bun = process.execPath): Built {
  mkdirSync(dirname(outfile), { recursive: true });
  const r = Bun.spawnSync(buildArgv(bun, outfile, o), { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`bun build failed (exit ${r.exitCode}):\n${r.stdout.toString()}${r.stderr.toString()}`);
  const sha256 = createHash("sha256").update(readFileSync(outfile)).digest("hex");
  writeFileSync(`${outfile}.sha256`, `${sha256}  ${basename(outfile)}\n`);
  return { outfile, bytes: statSync(outfile).size, sha256 };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      outfile: { type: "string", default: join(ROOT, "dist/dsef") },
      target: { type: "string" },
      sourcemap: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "usage: bun scripts/build-binary.ts [--outfile dist/dsef] [--target bun-linux-x64|bun-linux-arm64|bun-linux-x64-musl|bun-darwin-arm64|...] [--sourcemap]\n  --sourcemap  readable stack traces, +8 MB RSS per node",
    );
    process.exit(0);
  }
  const started = performance.now();
  try {
    const b = buildBinary(resolve(values.outfile), { target: values.target, sourcemap: values.sourcemap });
    console.log(`built ${b.outfile} (${(b.bytes / 1e6).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms\nsha256 ${b.sha256}`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
