import DgramAsPromised, { type SocketAsPromised } from "dgram-as-promised";
import type { Address, Message } from "../membership/types.ts";
import { type DropReason, decodeMessage, encodeMessage } from "../wire/codec.ts";
import { joinAddress, splitAddress } from "../util/address.ts";

/**
 * Authenticates datagrams before anything decodes them. The open guard accepts everything;
 * the identity layer supplies a sealing one.
 */
export interface PacketGuard {
  seal(payload: Uint8Array): Uint8Array;
  /** The payload, or why the datagram must be dropped. */
  open(datagram: Uint8Array): Uint8Array | DropReason;
}

export const openGuard: PacketGuard = { seal: (p) => p, open: (d) => d };

export interface TransportStats {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  sendErrors: number;
  drops: Record<DropReason, number>;
  /** Updates dropped from otherwise valid datagrams (the rest of the datagram was kept). */
  updatesDropped: number;
}

/** The real UDP socket: bytes in and out, with every inbound datagram checked and decoded. */
export class UdpTransport {
  readonly stats: TransportStats = {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    sendErrors: 0,
    drops: { oversized: 0, malformed: 0, schema: 0, unauthenticated: 0, replayed: 0 },
    updatesDropped: 0,
  };

  private constructor(
    private readonly socket: SocketAsPromised,
    private readonly guard: PacketGuard,
  ) {}

  static async bind(
    host: string,
    port: number,
    onMessage: (source: Address, message: Message) => void,
    guard: PacketGuard = openGuard,
  ): Promise<UdpTransport> {
    const socket = DgramAsPromised.createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
    await socket.bind(port, host);
    const t = new UdpTransport(socket, guard);
    void t.#receive(onMessage);
    return t;
  }

  async #receive(onMessage: (source: Address, message: Message) => void): Promise<void> {
    for await (const { msg, rinfo } of this.socket) {
      this.stats.packetsIn++;
      this.stats.bytesIn += msg.byteLength;
      const payload = this.guard.open(msg);
      if (typeof payload === "string") {
        this.stats.drops[payload]++;
        continue;
      }
      const decoded = decodeMessage(payload);
      if (!decoded.ok) {
        this.stats.drops[decoded.reason]++;
        continue;
      }
      this.stats.updatesDropped += decoded.droppedUpdates;
      onMessage(joinAddress(rinfo.address, rinfo.port), decoded.message);
    }
  }

  send(to: Address, message: Message): void {
    const bytes = this.guard.seal(encodeMessage(message));
    const { host, port } = splitAddress(to);
    this.stats.packetsOut++;
    this.stats.bytesOut += bytes.byteLength;
    this.socket.send(bytes, 0, bytes.byteLength, port, host).catch(() => {
      this.stats.sendErrors++;
    });
  }

  get droppedTotal(): number {
    return Object.values(this.stats.drops).reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    await this.socket.close();
  }
}
