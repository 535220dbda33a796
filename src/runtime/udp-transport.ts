import type { udp } from "bun";
import type { Address } from "../membership/types.ts";
import { joinAddress, splitAddress } from "../util/address.ts";

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;
/** Bun's UDP socket sends to address literals only; a host name is looked up first. */
const isLiteral = (host: string): boolean => IPV4.test(host) || host.includes(":");

/**
 * The real UDP socket: bytes in, bytes out. Checking and decoding is the node driver's job.
 * Bun's own socket, called back once per datagram: no promise, event emitter or DNS round per
 * datagram (an idle node's CPU is mostly such per-event overhead, docs/BENCHMARKS.md).
 */
export class UdpTransport {
  private constructor(
    private readonly socket: udp.Socket<"buffer">,
    private readonly family: 4 | 6,
  ) {}

  static async bind(host: string, port: number, onDatagram: (source: Address, datagram: Uint8Array) => void): Promise<UdpTransport> {
    const socket = await Bun.udpSocket({
      hostname: host,
      port,
      socket: { data: (_s, datagram, fromPort, fromHost) => onDatagram(joinAddress(fromHost, fromPort), datagram) },
    });
    return new UdpTransport(socket, host.includes(":") ? 6 : 4);
  }

  /** Fire and forget; `failed` is told when the datagram cannot be sent (a bad or unresolvable address, a full buffer). */
  send(to: Address, datagram: Uint8Array, failed: () => void): void {
    const { host, port } = splitAddress(to);
    if (isLiteral(host)) {
      this.#sendTo(host, port, datagram, failed);
      return;
    }
    Bun.dns.lookup(host, { family: this.family }).then((found) => (found[0] ? this.#sendTo(found[0].address, port, datagram, failed) : failed()), failed);
  }

  #sendTo(host: string, port: number, datagram: Uint8Array, failed: () => void): void {
    if (this.socket.closed) {
      failed();
      return;
    }
    let sent = false;
    try {
      sent = this.socket.send(datagram, port, host);
    } catch {
      // Invalid address or family, EINVAL: counted like any other failed send.
    }
    if (!sent) failed();
  }

  async close(): Promise<void> {
    this.socket.close();
  }
}
