#!/usr/bin/env bun
/**
 * `dsef`: one command for everything D-SEF runs (also the single compiled binary, see
 * scripts/build-binary.ts). Each subcommand lives in its own module and registers here with one
 * line: `name: () => import("./x-command.ts")`, the module exporting
 * `run(argv: string[]): Promise<number>` (the exit code) and `summary: string`. Modules load
 * only when their command runs, so a node does not carry the CLI's code and vice versa.
 *
 * `dsef --port 5000 ...` (first argument a flag) is `dsef node --port 5000 ...`: the container
 * image passes the seed's node flags straight to the binary.
 */
import { relaunchForJit } from "../config/jit-flag.ts";

export type Command = { run(argv: string[]): Promise<number>; summary: string };

const commands: Record<string, () => Promise<Command>> = {
  node: () => import("./node-command.ts"),
  esp: () => import("./esp-command.ts"),
  members: () => import("./members-command.ts"),
  status: () => import("./status-command.ts"),
  monitor: () => import("./monitor-command.ts"),
  ca: () => import("./ca-command.ts"),
  "device-key": () => import("./device-key-command.ts"),
  "webhook-key": () => import("./webhook-key-command.ts"),
  health: () => import("./health-command.ts"),
  reload: () => import("./reload-command.ts"),
  tags: () => import("./tags-command.ts"),
  keys: () => import("./keys-command.ts"),
  why: () => import("./why-command.ts"),
  "force-leave": () => import("./force-leave-command.ts"),
  reachability: () => import("./reachability-command.ts"),
};

const HELP = new Set(["--help", "-h", "help"]);
const VERSION = new Set(["--version", "-v", "version"]);

/** Which command runs, with which arguments. Pure. */
export function route(argv: readonly string[]): { command: string; args: string[] } | "help" | "version" {
  const [first, ...rest] = argv;
  if (first === undefined || HELP.has(first)) return "help";
  if (VERSION.has(first)) return "version";
  if (first.startsWith("-")) return { command: "node", args: [...argv] };
  return { command: first, args: rest };
}

async function usage(): Promise<string> {
  const lines = await Promise.all(Object.entries(commands).map(async ([n, l]) => `  dsef ${n.padEnd(13)} ${(await l()).summary}`));
  return ["usage: dsef <command> [options]", "       dsef --flag ...   (a first argument that is a flag: dsef node --flag ...)", "", ...lines].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const r = route(argv);
  if (r === "help") return (console.log(await usage()), 0);
  if (r === "version") return (console.log((await import("./version.ts")).version), 0);
  // Before the node's modules load: a lean JIT means starting over (config/jit-flag.ts).
  if (r.command === "node") relaunchForJit(r.args);
  const load = commands[r.command];
  if (!load) {
    console.error(`dsef: unknown command "${r.command}"\n${await usage()}`);
    return 2;
  }
  return (await load()).run(r.args);
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
