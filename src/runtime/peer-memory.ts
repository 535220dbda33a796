import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import type { Address } from "../membership/types.ts";
import { address } from "../wire/fields.ts";
import type { EdgeNode } from "./edge-node.ts";

/**
 * The peers a node last knew, kept in its data dir (Serf's snapshot, in small): a node restarted
 * without --bootstrap, such as the first node of a cluster, finds its way back through them.
 */
const FILE = "peers.json";
const SAVE_DELAY_MS = 2000;
const schema = v.strictObject({ peers: v.pipe(v.array(address), v.maxLength(10_000)) });

export function loadRememberedPeers(dataDir: string): Address[] {
  try {
    const parsed = v.safeParse(schema, JSON.parse(readFileSync(join(dataDir, FILE), "utf8")));
    return parsed.success ? parsed.output.peers : [];
  } catch {
    return [];
  }
}

/**
 * Rewrite the file (atomically) a little after membership changes settle. The returned stop
 * function writes a pending change at once, so a stopping node neither loses it nor waits for it.
 */
export function rememberPeers(node: EdgeNode): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const save = () => {
    timer = undefined;
    const self = node.swim.self.http;
    const peers = node.swim
      .members()
      .filter((m) => (m.state === "alive" || m.state === "suspect") && m.info.http !== self)
      .map((m) => m.info.http);
    const path = join(node.config.dataDir, FILE);
    try {
      writeFileSync(`${path}.tmp`, JSON.stringify({ peers }), { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    } catch (e) {
      node.log.warn({ err: (e as Error).message }, "cannot save known peers");
    }
  };
  const off = node.onEvent(() => {
    timer ??= setTimeout(save, SAVE_DELAY_MS);
  });
  return () => {
    off();
    if (timer === undefined) return;
    clearTimeout(timer);
    save();
  };
}
