import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Address } from "../membership/types.ts";
import { joinAddress, parseNodeAddress } from "../util/address.ts";

/** Resolve every entry to HTTP addresses; a DNS name may give several (a headless Service). */
export async function resolveBootstrap(entries: readonly string[]): Promise<Address[]> {
  const out = new Set<Address>();
  await Promise.all(
    entries.map(async (e) => {
      const { host, port } = parseNodeAddress(e);
      if (isIP(host)) {
        out.add(joinAddress(host, port));
        return;
      }
      try {
        for (const a of await lookup(host, { all: true })) out.add(joinAddress(a.address, port));
      } catch {
        // Not resolvable yet (a Service with no ready pods): the join loop retries.
      }
    }),
  );
  return [...out];
}
