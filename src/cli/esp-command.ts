/** `dsef esp ...`: the ESP device simulator (same flags as `bun esp/simulator.ts`). */
import { runSimulator } from "../../esp/simulator.ts";

export const summary = "simulate ESP devices sending packets to the cluster (see dsef esp --help)";

export function run(argv: string[]): Promise<number> {
  return runSimulator(argv);
}
