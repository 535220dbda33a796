import DgramAsPromised, { type SocketAsPromised } from "dgram-as-promised";
import type { Address } from "../membership/types.ts";
import { joinAddress, splitAddress } from "../util/address.ts";

/** The real UDP socket: bytes in, bytes out. Checking and decoding is the node driver's job. */
export class UdpTransport {
  private constructor(private readonly socket: SocketAsPromised) {}

  static async bind(host: string, port: number, onDatagram: (source: Address, datagram: Uint8Array) => void): Promise<UdpTransport> {
    const socket = DgramAsPromised.createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
    await socket.bind(port, host);
    const t = new UdpTransport(socket);
    void t.#receive(onDatagram);
    return t;
  }

  async #receive(onDatagram: (source: Address, datagram: Uint8Array) => void): Promise<void> {
    for await (const { msg, rinfo } of this.socket) onDatagram(joinAddress(rinfo.address, rinfo.port), msg);
  }

  /** Fire and forget; `failed` is told when the kernel refuses the datagram. */
  send(to: Address, datagram: Uint8Array, failed: () => void): void {
    const { host, port } = splitAddress(to);
    this.socket.send(datagram, 0, datagram.byteLength, port, host).catch(failed);
  }

  async close(): Promise<void> {
    await this.socket.close();
  }
}
