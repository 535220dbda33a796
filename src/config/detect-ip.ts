import { networkInterfaces } from "node:os";

type Iface = { address: string; family: string | number; internal: boolean };

/**
 * `--ip auto`: the address other nodes should use to reach this one, taken from the interfaces.
 * In a container or pod that is its one non-loopback address; on a multi-homed host pass --ip.
 * Prefers IPv4, then a global IPv6 (link-local ones need a zone and are useless to peers).
 */
export function pickAddress(ifaces: Record<string, Iface[] | undefined>): string | undefined {
  const all = Object.values(ifaces).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal);
  const v4 = external.find((a) => a.family === "IPv4" || a.family === 4);
  if (v4) return v4.address;
  return external.find((a) => (a.family === "IPv6" || a.family === 6) && !/^fe80:/i.test(a.address))?.address;
}

export function detectIp(): string {
  const ip = pickAddress(networkInterfaces());
  if (!ip) throw new Error("auto: no non-loopback network interface found");
  return ip;
}
