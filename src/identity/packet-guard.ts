import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { PacketGuard } from "../ports/packet-guard.ts";
import { type DropReason, MAX_DATAGRAM_BYTES } from "../wire/codec.ts";
import type { Keyring } from "./keyring.ts";
import { ReplayWindow } from "./replay-window.ts";

/**
 * Authenticated datagrams: AES-256-GCM under the cluster's gossip key.
 *
 *   version(1) | key id(4) | sender epoch(8) | counter(4) | unix seconds(4) | ciphertext | tag(16)
 *
 * The header is the additional data, so none of it can be altered. The nonce is epoch ‖ counter:
 * the epoch is random per process start, the counter never repeats within it, so a nonce is
 * never reused under a key. Replays are caught by a per-epoch window over the counter, and a
 * packet from a forgotten epoch must carry a time within `maxSkewS` of ours, so recording old
 * traffic and playing it back later does not work either.
 */
const VERSION = 1;
const HEADER = 1 + 4 + 8 + 4 + 4;
const TAG = 16;
export const SEAL_OVERHEAD = HEADER + TAG;
const MAX_EPOCHS = 4096;

export interface GuardStats {
  sealed: number;
  opened: number;
  /** Why datagrams were refused, finer than the transport's drop reasons. */
  refused: { short: number; version: number; unknownKey: number; badTag: number; stale: number; replayed: number; noSendKey: number };
}

interface Epoch {
  readonly window: ReplayWindow;
  lastSeen: number;
}

export class AeadGuard implements PacketGuard {
  readonly stats: GuardStats = { sealed: 0, opened: 0, refused: { short: 0, version: 0, unknownKey: 0, badTag: 0, stale: 0, replayed: 0, noSendKey: 0 } };
  readonly #epoch = randomBytes(8);
  #counter = 0;
  readonly #epochs = new Map<string, Epoch>();

  constructor(
    private readonly keyring: Keyring,
    private readonly maxSkewS = 60,
    private readonly clock: () => number = Date.now,
  ) {}

  seal(payload: Uint8Array): Uint8Array {
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
    const epochId = d.toString("hex", 5, 13);
    const counter = d.readUInt32BE(13);
    const nowMs = this.clock();
    const epoch = this.#epochs.get(epochId);
    if (epoch) {
      if (!epoch.window.check(counter)) return (r.replayed++, "replayed");
    } else if (Math.abs(d.readUInt32BE(17) - nowMs / 1000) > this.maxSkewS) {
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
    if (!e) return (r.stale++, "replayed");
    e.window.commit(counter);
    e.lastSeen = nowMs;
    this.stats.opened++;
    return plain;
  }

  #newEpoch(id: string, nowMs: number): Epoch | undefined {
    if (this.#epochs.size >= MAX_EPOCHS) {
      // Forget epochs idle for twice the skew: their packets fail the time check by now.
      for (const [k, e] of this.#epochs) if (nowMs - e.lastSeen > 2000 * this.maxSkewS) this.#epochs.delete(k);
      if (this.#epochs.size >= MAX_EPOCHS) return undefined;
    }
    const e = { window: new ReplayWindow(), lastSeen: nowMs };
    this.#epochs.set(id, e);
    return e;
  }

  #rollEpoch(): void {
    randomBytes(8).copy(this.#epoch);
    this.#counter = 0;
  }
}
