/**
 * The flags that bound what an insider can add (docs/SECURITY.md, "Insiders"): identities nobody
 * vouched for (identity/admission-limits.ts) and peers' capacity claims (load/peer-trust.ts).
 * Part of the node's one flag table (node-config.ts).
 */
import { parseInteger, parsePositive } from "./parse-values.ts";

/** The part of the node's config these flags set. */
export interface InsiderSettings {
  /** Bounds on identities nobody vouched for (see identity/admission-limits.ts). */
  maxMembers: number;
  maxNewPerSync: number;
  maxNewPerSecond: number;
  /** A peer's advertised capacity counts up to this (0: automatic, see load/peer-trust.ts). */
  maxPeerCapacity: number;
}

/** As DEFAULT_ADMISSION_LIMITS (identity/admission-limits.ts). */
export const insiderDefaults: InsiderSettings = { maxMembers: 1024, maxNewPerSync: 8, maxNewPerSecond: 8, maxPeerCapacity: 0 };

interface InsiderFlag {
  readonly flag: string;
  readonly env: string;
  readonly arg: string;
  readonly help: string;
  readonly apply: (c: InsiderSettings, v: string) => void;
}

export const insiderFlags: InsiderFlag[] = [
  {
    flag: "max-peer-capacity",
    env: "DSEF_MAX_PEER_CAPACITY",
    arg: "UNITS",
    help: "a peer's advertised capacity counts at most this much when balancing (default 10 x the larger of this node's and the other members' median)",
    apply: (c, v) => void (c.maxPeerCapacity = parsePositive(v, 1e9)),
  },
  {
    flag: "max-members",
    env: "DSEF_MAX_MEMBERS",
    arg: "N",
    help: "live members this node lists at most; new identities beyond are refused (default 1024)",
    apply: (c, v) => void (c.maxMembers = parseInteger(v, 2, 1_000_000)),
  },
  {
    flag: "max-new-per-sync",
    env: "DSEF_MAX_NEW_PER_SYNC",
    arg: "N",
    help: "new identities accepted from one /sync or joiner's state, except this node's own join (default 8)",
    apply: (c, v) => void (c.maxNewPerSync = parseInteger(v, 1, 1_000_000)),
  },
  {
    flag: "max-new-per-second",
    env: "DSEF_MAX_NEW_PER_SECOND",
    arg: "N",
    help: "new identities accepted per second over gossip and sync (default 8)",
    apply: (c, v) => void (c.maxNewPerSecond = parseInteger(v, 1, 1_000_000)),
  },
];
