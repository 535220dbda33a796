import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFlagFile } from "../config/flag-files.ts";
import { UsageError } from "../util/usage-error.ts";
import { checkSecretFile } from "./secret-files.ts";

/**
 * Devices authenticate their packets (--device-key). The operator holds one master secret; each
 * device gets its own key, HMAC(master, device id), printed by `dsef device-key DEVICE_ID`.
 * Nodes derive the same key from the master, so no per-device table exists anywhere. A device
 * signs each packet for the node it sends it to:
 *
 *   x-dsef-device: <unix ms>;<node "ip:port">;<mac b64url>
 *   mac = HMAC(device key, packet id, device id, time, node, body)
 *
 * Packets more than `maxSkewMs` off the node's clock are refused, and so are packets signed for
 * another node, so a captured packet cannot be replayed elsewhere in the cluster; replayed at the
 * node it was meant for, it carries a packet id already in the idempotency window and is
 * acknowledged as a duplicate, not processed again. (A device that can only reach the cluster
 * through a shared name may sign for "*", any node: then replays are caught at one node only.) Packet ids are scoped to the device (`scopedPacketId`), so one device
 * cannot claim another's ids in advance.
 */
export const DEVICE_AUTH_HEADER = "x-dsef-device";
export const MIN_MASTER_LENGTH = 16;
const FORMAT = /^(\d{1,16});(\*|[A-Za-z0-9.\-_:[\]]{1,300});([A-Za-z0-9_-]{43})$/;
/** Signed for any node (a device behind a shared name). */
export const ANY_NODE = "*";

const masterKey = (master: string): Buffer => createHash("sha256").update(`dsef/v1 device master\n${master}`).digest();

/** A device's key (base64url), as `dsef device-key` prints it and the device stores it. */
export function deviceKeyFor(master: string, deviceId: string): string {
  return createHmac("sha256", masterKey(master)).update(`dsef/v1 device key\n${deviceId}`).digest("base64url");
}

function macOf(deviceKey: Buffer | string, packetId: string, deviceId: string, ts: string, node: string, body: string): Buffer {
  const key = typeof deviceKey === "string" ? Buffer.from(deviceKey, "base64url") : deviceKey;
  return createHmac("sha256", key).update(`dsef/v1 packet\n${packetId}\n${deviceId}\n${ts}\n${node}\n${body}`).digest();
}

/** The header value a device sends with `body` to `node` ("ip:port" as /peers lists it, or "*"). */
export function signPacket(deviceKey: string, packetId: string, deviceId: string, body: string, nowMs: number, node: string = ANY_NODE): string {
  const ts = String(Math.round(nowMs));
  return `${ts};${node};${macOf(deviceKey, packetId, deviceId, ts, node, body).toString("base64url")}`;
}

/**
 * What a device signs, in place of a body, to read its own packet's outcome (GET /packets/:id):
 * not JSON, so no signed read can pass for a signed packet.
 */
export const STATUS_READ_BODY = "GET /packets";

/** The header for reading `packetId`'s outcome (GET /packets/:id?device_id=...). */
export function signStatusRead(deviceKey: string, packetId: string, deviceId: string, nowMs: number, node: string = ANY_NODE): string {
  return signPacket(deviceKey, packetId, deviceId, STATUS_READ_BODY, nowMs, node);
}

/**
 * The id a device's packet is known by in the cluster: its own ids, never another device's.
 * The device id's length comes first, so no two (device, packet) pairs give the same string;
 * a pair too long for a packet id (128 characters) is hashed instead.
 */
export function scopedPacketId(deviceId: string, packetId: string): string {
  const plain = `${deviceId.length}:${deviceId}/${packetId}`;
  return plain.length <= 128 ? plain : `dev:${createHash("sha256").update(`${deviceId}\n${packetId}`).digest("base64url").slice(0, 32)}`;
}

/** Derived device keys kept, so a busy device costs one HMAC per packet, not two. */
const KEY_CACHE_SIZE = 10_000;

export type DeviceCheck = { ok: true } | { ok: false; status: 401; reason: string };
/** A header that passed `precheck`: its parts, for `check`. */
export type SignedHeader = { ok: true; ts: string; node: string; mac: string };

export class DeviceAuth {
  readonly #master: Buffer;
  readonly #keys = new Map<string, Buffer>();
  readonly stats = { accepted: 0, refused: { missing: 0, malformed: 0, stale: 0, otherNode: 0, badSignature: 0, unnamed: 0 } };

  constructor(
    master: string,
    /** This node's "ip:port": what devices sign their packets for. */
    private readonly self: string,
    private readonly maxSkewMs = 300_000,
    private readonly clock: () => number = Date.now,
  ) {
    if (master.length < MIN_MASTER_LENGTH) throw new Error(`a device master key needs at least ${MIN_MASTER_LENGTH} characters (try: openssl rand -base64 32)`);
    this.#master = masterKey(master);
  }

  /** Header present, well formed, recent and meant for this node: checked before the body is read. */
  precheck(header: string | null): SignedHeader | (DeviceCheck & { ok: false }) {
    if (!header)
      return this.#fail(
        "missing",
        `device authentication required: sign each packet with the device's key (${DEVICE_AUTH_HEADER}; dsef device-key DEVICE_ID prints it)`,
      );
    const m = FORMAT.exec(header);
    if (!m) return this.#fail("malformed", `malformed ${DEVICE_AUTH_HEADER} header (expected <unix ms>;<node ip:port>;<mac>)`);
    if (Math.abs(Number(m[1]) - this.clock()) > this.maxSkewMs)
      return this.#fail("stale", `packet time outside ±${this.maxSkewMs / 1000} s of this node's clock (set the device's clock)`);
    if (m[2] !== this.self && m[2] !== ANY_NODE) return this.#fail("otherNode", `packet signed for another node (${m[2]}); this is ${this.self}`);
    return { ok: true, ts: m[1]!, node: m[2]!, mac: m[3]! };
  }

  /** The signature over the packet, for a header that passed `precheck`. */
  check(header: SignedHeader, packetId: string | undefined, deviceId: string | undefined, body: string): DeviceCheck {
    if (packetId === undefined || deviceId === undefined) return this.#fail("unnamed", "a signed packet needs its packet_id and device_id");
    const want = macOf(this.#keyOf(deviceId), packetId, deviceId, header.ts, header.node, body);
    const got = Buffer.from(header.mac, "base64url");
    if (want.byteLength !== got.byteLength || !timingSafeEqual(want, got))
      return this.#fail("badSignature", "device signature not valid (wrong device key, or the packet was altered)");
    this.stats.accepted++;
    return { ok: true };
  }

  #keyOf(deviceId: string): Buffer {
    let key = this.#keys.get(deviceId);
    if (!key) {
      key = createHmac("sha256", this.#master).update(`dsef/v1 device key\n${deviceId}`).digest();
      // Ids come from outside: the cache is bounded (cleared when full; keys are cheap to derive).
      if (this.#keys.size >= KEY_CACHE_SIZE) this.#keys.clear();
      this.#keys.set(deviceId, key);
    }
    return key;
  }

  #fail(why: keyof DeviceAuth["stats"]["refused"], reason: string): DeviceCheck & { ok: false } {
    this.stats.refused[why]++;
    return { ok: false, status: 401, reason };
  }
}

/** The master from --device-key or the first line of --device-key-file; "" when neither. */
export function deviceMasterOf(config: { deviceKey: string; deviceKeyFile: string }): string {
  if (config.deviceKey && config.deviceKeyFile) throw new UsageError("--device-key-file: give either it or --device-key, not both");
  if (!config.deviceKeyFile) return config.deviceKey;
  const line = readFlagFile("--device-key-file", config.deviceKeyFile)
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith("#"));
  if (!line) throw new UsageError(`--device-key-file: ${config.deviceKeyFile} holds no key`);
  return line;
}

/**
 * At start (UsageError, exit 2): the key file is private, the master long enough, and the
 * cluster secured: without a credential, forwards between nodes are not authenticated, and a
 * request dressed as a forward would skip the device check. Returns the DeviceAuth, if any.
 */
export function loadDeviceAuth(config: { deviceKey: string; deviceKeyFile: string }, securedCluster: boolean, self: string): DeviceAuth | undefined {
  if (config.deviceKeyFile) checkSecretFile("device-key-file", config.deviceKeyFile);
  const master = deviceMasterOf(config);
  if (!master) return undefined;
  const flag = config.deviceKeyFile ? "--device-key-file" : "--device-key";
  if (!securedCluster)
    throw new UsageError(
      `${flag}: device authentication needs a cluster credential too (--cluster-key or --ca-pubkey), or forwards between nodes could bypass it`,
    );
  try {
    return new DeviceAuth(master, self);
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
}
