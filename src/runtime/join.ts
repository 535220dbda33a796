import type { Address } from "../membership/types.ts";
import { resolveBootstrap } from "./bootstrap.ts";
import type { EdgeNode } from "./edge-node.ts";
import { loadRememberedPeers } from "./peer-memory.ts";

const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;

/**
 * Join through the bootstrap list, retrying with backoff until a seed answers (nodes may start
 * in any order). With no bootstrap, or one that resolves only to this node, it is the first
 * node. Peers remembered from a previous run are tried too, so a restarted first node finds
 * its cluster again. Afterwards it keeps re-resolving the list now and then, so two halves that
 * formed separately (a headless Service that listed only some pods at first) still find each other.
 */
export async function runJoin(node: EdgeNode, signal: AbortSignal): Promise<void> {
  const self = node.swim.self.http;
  const entries = node.config.bootstrap;
  const remembered = loadRememberedPeers(node.config.dataDir).filter((a) => a !== self);
  const candidates = async () => [...new Set([...(await resolveBootstrap(entries)), ...remembered])].filter((a) => a !== self);
  if (entries.length === 0) {
    // The first node of a cluster: rejoin what it knew before a restart, else start anew.
    for (const seed of shuffle([...remembered])) {
      if (await tryJoin(node, seed)) {
        node.log.info({ seed }, "rejoined the cluster this node knew before its restart");
        break;
      }
    }
    node.markReady();
    if (remembered.length === 0) return;
  }
  let backoff = FIRST_BACKOFF_MS;
  while (!signal.aborted && !node.ready) {
    const seeds = await candidates();
    if (seeds.length === 0 && (await resolvesToSelfOnly(entries, self))) {
      node.markReady();
      node.log.info("bootstrap resolves only to this node: starting a new cluster");
      break;
    }
    for (const seed of shuffle(seeds)) {
      if (await tryJoin(node, seed)) {
        node.markReady();
        node.log.info({ seed }, "joined cluster");
        break;
      }
    }
    if (node.ready) break;
    if (node.swim.liveCount > 1) {
      node.markReady();
      node.log.info("joined cluster (another node reached us first)");
      break;
    }
    node.log.warn({ bootstrap: entries, retryInMs: backoff }, "no bootstrap node answered; retrying");
    await sleep(backoff, signal);
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  }
  while (!signal.aborted) {
    await sleep(node.config.timing.syncIntervalMs, signal);
    if (signal.aborted) return;
    const known = new Set<Address>(node.swim.members().filter((m) => m.state === "alive" || m.state === "suspect").map((m) => m.info.http));
    const unknown = (await candidates()).filter((a) => !known.has(a));
    const seed = unknown[Math.floor(Math.random() * unknown.length)];
    if (seed) await tryJoin(node, seed);
  }
}

async function tryJoin(node: EdgeNode, seed: Address): Promise<boolean> {
  try {
    await node.join(seed);
    return true;
  } catch (e) {
    // A refused join (identity layer) is worth a warning; an unreachable seed is routine.
    if ((e as { refused?: boolean }).refused) node.log.warn({ seed, err: (e as Error).message }, "join refused");
    else node.log.debug({ seed, err: (e as Error).message }, "bootstrap sync failed");
    return false;
  }
}

async function resolvesToSelfOnly(entries: readonly string[], self: Address): Promise<boolean> {
  const all = await resolveBootstrap(entries);
  return all.length > 0 && all.every((a) => a === self);
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}
