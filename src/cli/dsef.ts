#!/usr/bin/env bun
/**
 * `dsef`: the operator's command line. Each subcommand lives in its own module and registers
 * here with one line: `name: () => import("./x-command.ts")`, the module exporting
 * `run(argv: string[]): Promise<number>` (the exit code) and `summary: string`.
 */
export type Command = { run(argv: string[]): Promise<number>; summary: string };

const commands: Record<string, () => Promise<Command>> = {
  node: () => import("./node-command.ts"),
  members: () => import("./members-command.ts"),
  status: () => import("./status-command.ts"),
  ca: () => import("./ca-command.ts"),
  "device-key": () => import("./device-key-command.ts"),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name ? commands[name] : undefined;
  if (!load) {
    const lines = await Promise.all(Object.entries(commands).map(async ([n, l]) => `  dsef ${n.padEnd(10)} ${(await l()).summary}`));
    const text = ["usage: dsef <command> [options]", "", ...lines].join("\n");
    if (!name || name === "--help" || name === "help") {
      console.log(text);
      return 0;
    }
    console.error(`dsef: unknown command "${name}"\n${text}`);
    return 2;
  }
  return (await load()).run(rest);
}

process.exit(await main(process.argv.slice(2)));
