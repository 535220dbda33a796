import { describe, expect, it } from "bun:test";
import { pickAddress } from "../../src/config/detect-ip.ts";
import { parseNodeConfig } from "../../src/config/node-config.ts";

const lo = { address: "127.0.0.1", family: "IPv4", internal: true };
const lo6 = { address: "::1", family: "IPv6", internal: true };

describe("--ip auto", () => {
  it("picks the container's non-loopback IPv4", () => {
    expect(
      pickAddress({
        lo: [lo, lo6],
        eth0: [
          { address: "fe80::1", family: "IPv6", internal: false },
          { address: "172.18.0.3", family: "IPv4", internal: false },
        ],
      }),
    ).toBe("172.18.0.3");
  });
  it("falls back to a global IPv6, never a link-local one", () => {
    expect(
      pickAddress({
        lo: [lo],
        eth0: [
          { address: "fe80::1", family: "IPv6", internal: false },
          { address: "fd00::5", family: "IPv6", internal: false },
        ],
      }),
    ).toBe("fd00::5");
    expect(pickAddress({ lo: [lo], eth0: [{ address: "fe80::1", family: "IPv6", internal: false }] })).toBeUndefined();
  });
  it("resolves through the config (DSEF_IP=auto) to a real address of this host", () => {
    const c = parseNodeConfig([], { DSEF_IP: "auto" });
    if (c === "help") throw new Error("unexpected");
    expect(c.ip).not.toBe("auto");
    expect(c.ip).not.toBe("127.0.0.1");
    expect(c.bind).toBe(c.ip);
  });
});
