/** `dsef node ...`: start an edge node (same flags as `bun src/main.ts`). */
import { runNode } from "../main.ts";

export const summary = "start an edge node (see dsef node --help)";

export function run(argv: string[]): Promise<number> {
  return runNode(argv);
}
