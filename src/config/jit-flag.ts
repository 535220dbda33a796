/**
 * `--jit auto|lean|full`: which of JavaScriptCore's JIT tiers the node runs with.
 *
 * The optimizing tiers (DFG, FTL) page in ~5 MB of the runtime's code per process and spend CPU
 * compiling a membership node's few hot functions, while the request path is mostly native
 * (Bun.serve) and loses ~3 % req/s without them (docs/BENCHMARKS.md, "Footprint"). So a node
 * runs lean (no DFG, hence no FTL) unless it runs user code in-process (--handler), or is told
 * --jit full. JSC reads its options from the environment once, at start: `dsef node` re-executes
 * itself (execve: same PID, same arguments) with BUN_JSC_useDFGJIT=0 before loading the node's
 * modules. `bun src/main.ts` (development, the tests) runs as Bun starts it. An operator's own
 * BUN_JSC_useDFGJIT is left as it is.
 */
import { parseChoice } from "./parse-values.ts";

export const jitModes = ["auto", "lean", "full"] as const;
export type JitMode = (typeof jitModes)[number];

/** Part of the node's one flag table (node-config.ts). */
export const jitFlag = {
  flag: "jit",
  env: "DSEF_JIT",
  arg: "MODE",
  help: "dsef node's JIT tiers: lean (no optimizing JIT: ~5 MB and ~0.1 % CPU less per idle node), full, or auto (default: lean unless --handler runs user code)",
  apply: (c: { jit: JitMode }, v: string) => void (c.jit = parseChoice(v, jitModes)),
};

type Env = Record<string, string | undefined>;

/** The value of the last `--name V` or `--name=V` in argv. */
function lastFlag(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) value = argv[++i];
    else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
  }
  return value;
}

/** The environment to re-execute with for a lean JIT, or undefined to run as we are. Pure. */
export function leanJitEnv(argv: readonly string[], env: Env): Env | undefined {
  if (env.BUN_JSC_useDFGJIT !== undefined) return undefined;
  const mode = lastFlag(argv, "jit") ?? env.DSEF_JIT ?? "auto";
  const handler = lastFlag(argv, "handler") ?? env.DSEF_HANDLER;
  const lean = mode === "lean" || (mode === "auto" && !handler);
  return lean ? { ...env, BUN_JSC_useDFGJIT: "0" } : undefined;
}

/**
 * Re-execute this process with a lean JIT if its flags ask for one (see above); returns only when
 * it runs as it is. `nodeArgs` are the node's flags; the rest of process.argv is kept as it was.
 */
export function relaunchForJit(nodeArgs: readonly string[]): void {
  const env = leanJitEnv(nodeArgs, process.env);
  if (!env || typeof process.execve !== "function") return;
  // A compiled binary's argv[1] is its own embedded entry point, not an argument to pass on.
  const compiled = process.argv[1]?.startsWith("/$bunfs/") ?? false;
  try {
    process.execve(process.execPath, [process.execPath, ...process.argv.slice(compiled ? 2 : 1)], env as Record<string, string>);
  } catch {
    // The executable cannot be run again (replaced or removed since it started): run as we are.
  }
}
