/**
 * `dsef reload [--pid N]`: make a running node re-read its --cluster-key-file (SIGHUP), for key
 * rotation without a restart. In a container the node is PID 1 (the default) and the image has
 * no shell or `kill`: `kubectl exec POD -- dsef reload`. Refuses to signal a process that is not
 * a D-SEF node, so it cannot poke a host's init by mistake.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { UsageError } from "../util/usage-error.ts";
import { CliError, runCli } from "./node-client.ts";

export const summary = "make a running node re-read its --cluster-key-file (SIGHUP; default: PID 1, the container's node)";

const help = [
  "usage: dsef reload [--pid N]",
  "",
  "  --pid N   the node's process id (default 1: the node in its container)",
  "The node logs what it loaded (or why not) and keeps its current keys when the file is bad.",
].join("\n");

/** Is this /proc/PID/cmdline (NUL-separated) a D-SEF node: `dsef node ...`, `dsef --flag ...` or `bun .../src/main.ts`? Pure. */
export function isNodeCommandLine(cmdline: string): boolean {
  const argv = cmdline.split("\0").filter(Boolean);
  const exe = argv[0]?.split("/").pop() ?? "";
  if (exe === "dsef") return argv[1] === undefined || argv[1] === "node" || argv[1].startsWith("-");
  return (
    argv.some((a) => a.endsWith("src/main.ts") || a.endsWith("src/cli/dsef.ts")) &&
    !argv.some((a) => ["members", "status", "ca", "health", "esp", "reload", "device-key", "webhook-key", "monitor", "tags"].includes(a))
  );
}

export function run(argv: string[]): Promise<number> {
  return runCli(async () => {
    let values: { pid?: string; help?: boolean };
    try {
      ({ values } = parseArgs({ args: argv, options: { pid: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true }));
    } catch (e) {
      throw new UsageError(`${(e as Error).message.split("\n")[0]!} (see --help)`);
    }
    if (values.help) return (console.log(help), 0);
    const pid = values.pid === undefined ? 1 : Number(values.pid);
    if (!Number.isInteger(pid) || pid < 1) throw new UsageError("--pid: expected a process id");
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      throw new CliError(`no process ${pid} (or no /proc to check it)`);
    }
    if (!isNodeCommandLine(cmdline))
      throw new CliError(`process ${pid} is not a D-SEF node (${cmdline.split("\0").join(" ").trim().slice(0, 120)}); give its --pid`);
    try {
      process.kill(pid, "SIGHUP");
    } catch (e) {
      throw new CliError(`cannot signal process ${pid}: ${(e as Error).message}`);
    }
    console.log(`sent SIGHUP to node process ${pid}: it re-reads its cluster key file (see its log)`);
    return 0;
  });
}
