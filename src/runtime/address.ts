import type { Address } from "../membership/types.ts";

export function splitAddress(a: Address): { host: string; port: number } {
  const i = a.lastIndexOf(":");
  return { host: a.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(a.slice(i + 1)) };
}

export function joinAddress(host: string, port: number): Address {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
