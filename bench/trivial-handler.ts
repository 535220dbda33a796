/** The cheapest user handler: what running a packet in a Worker costs by itself (bench/load.ts). */
export function handle(packet: { packet_id: string }) {
  return { ok: packet.packet_id };
}
