import type { Address } from "../membership/types.ts";
import { PeerRefusedError } from "../ports/peer-refused.ts";
import { resolveBootstrap } from "./bootstrap.ts";
import type { EdgeNode } from "./edge-node.ts";
import { loadRememberedPeers } from "./peer-memory.ts";

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
/** Seeds contacted at once: enough for any bootstrap list, bounded for a large remembered one. */
const PARALLEL_SEEDS = 8;

/** What one attempt to sync through a seed found. */
type SeedOutcome = { readonly seed: Address; readonly result: "joined" } | SeedFailure;
type SeedFailure = { readonly seed: Address; readonly result: "refused" | "unreachable"; readonly reason: string };

/**
 * Join through every candidate at once: the bootstrap list (re-resolved each round, a DNS name
 * may list more pods over time) and the peers remembered from a previous run. Contacting all of
 * them, like `serf join` does, is what keeps nodes started together with different memories
 * from forming islands: any node reached by two groups merges them, and the new members it
 * learns spread by gossip. The node is ready once one seed let it in; a refusal (credential,
 * id in use) keeps it not ready and is said at warn level with the seed's reason.
 *
 * With no bootstrap the node founds a cluster, unless peers it remembers answer (a restarted
 * first node rejoins). Afterwards it keeps re-resolving now and then, so two halves that formed
 * separately (a headless Service that listed only some pods at first) still find each other.
 */
export async function runJoin(node: EdgeNode, signal: AbortSignal): Promise<void> {
  const self = node.swim.self.http;
  const entries = node.config.bootstrap;
  const remembered = loadRememberedPeers(node.config.dataDir).filter((a) => a !== self);
  const candidates = async () => [...new Set([...(await resolveBootstrap(entries)), ...remembered])].filter((a) => a !== self);
  let backoff = FIRST_BACKOFF_MS;
  while (!signal.aborted && !node.readiness.ready) {
    const seeds = await candidates();
    const outcomes = await joinThroughAll(node, seeds);
    const joined = outcomes.filter((o) => o.result === "joined").map((o) => o.seed);
    const refused = outcomes.filter((o): o is SeedFailure => o.result === "refused");
    if (joined.length > 0) {
      node.setReady();
      node.log.info({ via: joined, refused: refused.length }, "joined cluster");
      break;
    }
    if (node.swim.liveCount > 1) {
      node.setReady();
      node.log.info("joined cluster (another node reached us first)");
      break;
    }
    if (refused.length === 0 && (entries.length === 0 || (seeds.length === 0 && (await resolvesToSelfOnly(entries, self))))) {
      // Nobody to join, or nobody answered a node that has no bootstrap: it founds the cluster.
      node.setReady();
      if (remembered.length > 0) node.log.warn({ remembered: remembered.length }, "none of the peers this node remembers answered: starting a new cluster");
      else node.log.info("no bootstrap: starting a new cluster");
      break;
    }
    const why = describeFailure(seeds, outcomes);
    node.setNotReady(why);
    node.log.warn({ bootstrap: entries, retryInMs: backoff }, `not joined: ${why}; retrying`);
    await sleep(backoff, signal);
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  }
  while (!signal.aborted) {
    await sleep(node.config.timing.syncIntervalMs, signal);
    if (signal.aborted) return;
    const known = new Set<Address>(
      node.swim
        .members()
        .filter((m) => m.state === "alive" || m.state === "suspect")
        .map((m) => m.info.http),
    );
    await joinThroughAll(
      node,
      (await candidates()).filter((a) => !known.has(a)),
    );
  }
}

/** Sync through every seed, a bounded number at a time. */
async function joinThroughAll(node: EdgeNode, seeds: readonly Address[]): Promise<SeedOutcome[]> {
  const queue = [...seeds];
  const outcomes: SeedOutcome[] = [];
  const worker = async () => {
    for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) outcomes.push(await trySync(node, seed));
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_SEEDS, queue.length) }, worker));
  return outcomes;
}

async function trySync(node: EdgeNode, seed: Address): Promise<SeedOutcome> {
  try {
    await node.join(seed);
    return { seed, result: "joined" };
  } catch (e) {
    const reason = (e as Error).message;
    // A refusal (identity layer: 401/403/409, or a seed we do not trust) is the operator's to fix.
    if (e instanceof PeerRefusedError) {
      node.log.warn({ seed, err: reason }, "join refused");
      return { seed, result: "refused", reason };
    }
    node.log.debug({ seed, err: reason }, "bootstrap sync failed");
    return { seed, result: "unreachable", reason };
  }
}

function describeFailure(seeds: readonly Address[], outcomes: readonly SeedOutcome[]): string {
  if (seeds.length === 0) return "the bootstrap list resolves to no address yet";
  const refused = outcomes.find((o) => o.result === "refused");
  if (refused?.result === "refused") return `join refused by ${refused.seed}: ${refused.reason}`;
  const first = outcomes[0];
  const detail = first && first.result !== "joined" ? ` (${first.seed}: ${first.reason})` : "";
  return `no bootstrap node answered${detail}`;
}

async function resolvesToSelfOnly(entries: readonly string[], self: Address): Promise<boolean> {
  const all = await resolveBootstrap(entries);
  return all.length > 0 && all.every((a) => a === self);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}
