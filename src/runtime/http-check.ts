import { connect } from "node:net";
import type { Address } from "../membership/types.ts";
import { splitAddress } from "./address.ts";

/**
 * Does the member's HTTP port refuse connections? A refusal means the host is up and nothing
 * listens: the process crashed. A timeout or success proves nothing and counts as "not refused".
 */
export function isRefused(address: Address, timeoutMs = 300): Promise<boolean> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (refused: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(refused);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once("connect", () => done(false));
    sock.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED"));
  });
}
