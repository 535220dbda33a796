/** `dsef node ...`: start an edge node (same flags as `bun src/main.ts`). */
export const summary = "start an edge node (see dsef node --help)";

export async function run(argv: string[]): Promise<number> {
  process.argv = [process.argv[0]!, "main.ts", ...argv];
  // main.ts keeps the process alive until the node stops.
  return (await import("../main.ts")).stopped;
}
