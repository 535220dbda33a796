import { describe, expect, test } from "bun:test";
import { ClientLimits, clientKey } from "../../src/http/client-limits.ts";

const limits = (o: Partial<ConstructorParameters<typeof ClientLimits>[0]> = {}) =>
  new ClientLimits({ ratePerS: 10, burst: 20, concurrency: 4, maxClients: 100, ...o });

describe("ClientLimits", () => {
  test("a burst, then the rate; Retry-After says when a token is back", () => {
    const l = limits({ concurrency: 0 });
    let ok = 0;
    for (let i = 0; i < 50; i++) if (l.admit("a", 0).ok) ok++;
    expect(ok).toBe(20);
    const r = l.admit("a", 0);
    expect(r).toEqual({ ok: false, reason: "rate", retryAfterS: 1 });
    // 10 per second: after 500 ms, 5 more.
    ok = 0;
    for (let i = 0; i < 50; i++) if (l.admit("a", 500).ok) ok++;
    expect(ok).toBe(5);
    // Another address is not affected.
    expect(l.admit("b", 500).ok).toBe(true);
  });

  test("requests in progress are capped per address and freed when answered", () => {
    const l = limits({ ratePerS: 0 });
    for (let i = 0; i < 4; i++) expect(l.admit("a", 0).ok).toBe(true);
    expect(l.admit("a", 0)).toMatchObject({ ok: false, reason: "concurrency" });
    l.release("a");
    expect(l.admit("a", 0).ok).toBe(true);
    expect(l.admit("b", 0).ok).toBe(true);
  });

  test("the table stays bounded: idle entries make room, busy ones are kept", () => {
    const l = limits({ maxClients: 10 });
    for (let i = 0; i < 10; i++) expect(l.admit(`busy${i}`, 0).ok).toBe(true);
    // All ten have a request in progress: a new address waits.
    expect(l.admit("new", 0)).toMatchObject({ ok: false, reason: "clients" });
    for (let i = 0; i < 10; i++) l.release(`busy${i}`);
    // Released, but their buckets are not full yet (one token spent, 100 ms to refill)...
    expect(l.admit("new", 50).ok).toBe(false);
    // ...once they are, they carry nothing and make room.
    expect(l.admit("new", 1000).ok).toBe(true);
    expect(l.size).toBeLessThanOrEqual(10);
    for (let i = 0; i < 100_000; i++) l.admit(`flood${i}`, 2000 + i * 1000);
    expect(l.size).toBeLessThanOrEqual(10);
  });

  test("clients are keyed by IPv4 address or IPv6 /64", () => {
    expect(clientKey("10.1.2.3")).toBe("10.1.2.3");
    expect(clientKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(clientKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2::9")).toBe(clientKey("2001:0db8:0001:0002:ffff:1:2:3"));
    expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
  });
});
