import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { Destination, PacketGuard } from "../ports/packet-guard.ts";
import { type DropReason, MAX_DATAGRAM_BYTES } from "../wire/codec.ts";
import type { Keyring } from "./keyring.ts";
import { ReplayWindow } from "./replay-window.ts";

/**
 * Authenticated datagrams: AES-256-GCM under the cluster's gossip key.
 *
 *   version(1) | key id(4) | sender epoch(8) | counter(4) | unix seconds(4) | to(8) | to incarnation(4) | ciphertext | tag(16)
 *
 * The header is the additional data, so none of it can be altered. The nonce is epoch ‖ counter:
 * the epoch is random per process start, the counter never repeats within it, so a nonce is
 * never reused under a key. Replays are caught by a per-epoch window over the counter, and a
 * packet from a forgotten epoch must carry a time within `maxSkewS` of ours, so recording old
 * traffic and playing it back later does not work either.
 *
 * The destination is bound too: `to` is the receiver's node id (zero when the sender does not
 * know it), so a datagram captured on its way to one node opens at no other; `to incarnation`
 * is the receiver's incarnation as the sender knew it, so one captured before the receiver
 * restarted (its windows empty, its start incarnation higher) does not open at the new process
 * either, unless it was sent after that start (a sender that has not heard of the restart yet).
 */
const VERSION = 2;
const HEADER = 1 + 4 + 8 + 4 + 4 + 8 + 4;
const TAG = 16;
export const SEAL_OVERHEAD = HEADER + TAG;
const DEFAULT_MAX_EPOCHS = 4096;
const NO_ID = Buffer.alloc(8);

/** 8 bytes naming a node: its id as hex when it is a key fingerprint, else a hash of it. */
export function idBytes(id: string): Buffer {
  return /^[0-9a-f]{16}$/.test(id) ? Buffer.from(id, "hex") : createHash("sha256").update(id).digest().subarray(0, 8);
}

/** idBytes of the ids datagrams are sealed to (a node sends to the same few members over and over). */
const idCache = new Map<string, Buffer>();
function cachedIdBytes(id: string): Buffer {
  let b = idCache.get(id);
  if (!b) {
    if (idCache.size >= 4096) idCache.clear();
    b = idBytes(id);
    idCache.set(id, b);
  }
  return b;
}

export interface GuardStats {
  sealed: number;
  opened: number;
  /** Opened datagrams that named no destination (a reply to a sender the peer could not name). */
  unbound: number;
  /** Why datagrams were refused, finer than the transport's drop reasons. */
  refused: {
    short: number;
    version: number;
    unknownKey: number;
    badTag: number;
    stale: number;
    replayed: number;
    noSendKey: number;
    /** Sealed for another node. */
    misdirected: number;
    /** Sealed for a previous run of this node, before it started. */
    restarted: number;
  };
}

interface Epoch {
  readonly window: ReplayWindow;
  /** Our clock (ms) when it last opened a datagram, and when it last moved to the back of the table. */
  lastSeen: number;
  movedAt: number;
  /** Latest datagram time (s) seen under it. */
  lastT: number;
}

export class AeadGuard implements PacketGuard {
  readonly stats: GuardStats = {
    sealed: 0,
    opened: 0,
    unbound: 0,
    refused: { short: 0, version: 0, unknownKey: 0, badTag: 0, stale: 0, replayed: 0, noSendKey: 0, misdirected: 0, restarted: 0 },
  };
  readonly #epoch = randomBytes(8);
  #counter = 0;
  /** Sender epochs, least recently used first (to within a second). */
  readonly #epochs = new Map<string, Epoch>();
  /**
   * Datagrams from an epoch this guard does not hold must be newer than this (s): every epoch
   * it forgot while it could still be replayed saw nothing later.
   */
  #floorS = -1;
  #self: { readonly id: Buffer; readonly startIncarnation: number; readonly startS: number } | undefined;

  constructor(
    private readonly keyring: Keyring,
    private readonly maxSkewS = 60,
    private readonly clock: () => number = Date.now,
    private readonly maxEpochs = DEFAULT_MAX_EPOCHS,
  ) {}

  /** Sender epochs held. */
  get epochs(): number {
    return this.#epochs.size;
  }

  bindTo(id: string, startIncarnation: number): void {
    this.#self = { id: idBytes(id), startIncarnation, startS: Math.floor(this.clock() / 1000) };
  }

  seal(payload: Uint8Array, to?: Destination): Uint8Array {
    const key = this.keyring.sendKey;
    if (!key) {
      // Not admitted yet (CA mode): nothing we send could be opened, so send nothing useful.
      this.stats.refused.noSendKey++;
      return new Uint8Array(0);
    }
    if (this.#counter >= 0xffffffff) this.#rollEpoch();
    const header = Buffer.allocUnsafe(HEADER);
    header[0] = VERSION;
    key.kidBytes.copy(header, 1);
    this.#epoch.copy(header, 5);
    header.writeUInt32BE(this.#counter++, 13);
    header.writeUInt32BE(Math.floor(this.clock() / 1000) >>> 0, 17);
    (to ? cachedIdBytes(to.id) : NO_ID).copy(header, 21);
    header.writeUInt32BE(to ? Math.min(Math.max(Math.floor(to.incarnation), 0), 0xffffffff) : 0, 29);
    const cipher = createCipheriv("aes-256-gcm", key.gossip, header.subarray(5, 17));
    cipher.setAAD(header);
    const body = cipher.update(payload);
    cipher.final();
    this.stats.sealed++;
    return Buffer.concat([header, body, cipher.getAuthTag()]);
  }

  open(datagram: Uint8Array): Uint8Array | DropReason {
    const r = this.stats.refused;
    if (datagram.byteLength < SEAL_OVERHEAD) return (r.short++, "unauthenticated");
    // Too big to hold a valid datagram: refuse before spending a decryption on it.
    if (datagram.byteLength > MAX_DATAGRAM_BYTES + SEAL_OVERHEAD) return "oversized";
    const d = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    if (d[0] !== VERSION) return (r.version++, "unauthenticated");
    const key = this.keyring.get(d.toString("hex", 1, 5));
    if (!key) return (r.unknownKey++, "unauthenticated");
    // The header is checked before the decryption (it is authenticated by it: a forged one fails there).
    const t = d.readUInt32BE(17);
    const unbound = d.compare(NO_ID, 0, 8, 21, 29) === 0;
    const self = this.#self;
    if (self && !unbound) {
      if (d.compare(self.id, 0, 8, 21, 29) !== 0) return (r.misdirected++, "replayed");
      const toIncarnation = d.readUInt32BE(29);
      if (toIncarnation !== 0 && toIncarnation < self.startIncarnation && t < self.startS) return (r.restarted++, "replayed");
    }
    const epochId = d.toString("hex", 5, 13);
    const counter = d.readUInt32BE(13);
    const nowMs = this.clock();
    const epoch = this.#epochs.get(epochId);
    if (epoch) {
      if (!epoch.window.check(counter)) return (r.replayed++, "replayed");
    } else if (Math.abs(t - nowMs / 1000) > this.maxSkewS || t <= this.#floorS) {
      // Unknown sender epoch: only fresh traffic may open one, or old captures would replay.
      return (r.stale++, "replayed");
    }
    let plain: Buffer;
    try {
      const decipher = createDecipheriv("aes-256-gcm", key.gossip, d.subarray(5, 17));
      decipher.setAAD(d.subarray(0, HEADER));
      decipher.setAuthTag(d.subarray(d.byteLength - TAG));
      plain = decipher.update(d.subarray(HEADER, d.byteLength - TAG));
      decipher.final();
    } catch {
      return (r.badTag++, "unauthenticated");
    }
    const e = epoch ?? this.#newEpoch(epochId, nowMs);
    e.window.commit(counter);
    e.lastSeen = nowMs;
    if (t > e.lastT) e.lastT = t;
    // Least recently used first: an epoch in use moves to the back, at most once a second.
    if (epoch && nowMs - e.movedAt >= 1000) {
      e.movedAt = nowMs;
      this.#epochs.delete(epochId);
      this.#epochs.set(epochId, e);
    }
    if (unbound) this.stats.unbound++;
    this.stats.opened++;
    return plain;
  }

  /**
   * A new sender epoch. The table is bounded: epochs idle past the skew are dropped first (their
   * datagrams fail the time check anyway); if it is still full, the least recently used goes,
   * and the floor rises to the latest time it saw, so its old datagrams stay refused.
   */
  #newEpoch(id: string, nowMs: number): Epoch {
    if (this.#epochs.size >= this.maxEpochs) {
      for (const [k, e] of this.#epochs) if (nowMs - e.lastSeen > 2000 * this.maxSkewS) this.#epochs.delete(k);
      const nowS = Math.floor(nowMs / 1000);
      for (const [k, e] of this.#epochs) {
        if (this.#epochs.size < this.maxEpochs) break;
        this.#epochs.delete(k);
        this.#floorS = Math.max(this.#floorS, Math.min(e.lastT, nowS));
      }
    }
    const e = { window: new ReplayWindow(), lastSeen: nowMs, movedAt: nowMs, lastT: 0 };
    this.#epochs.set(id, e);
    return e;
  }

  #rollEpoch(): void {
    randomBytes(8).copy(this.#epoch);
    this.#counter = 0;
  }
}
