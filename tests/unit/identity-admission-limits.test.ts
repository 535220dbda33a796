/** Bounds on new identities: per exchange, per second, and a member limit; trusted sources pass the rate caps. */
import { describe, expect, test } from "bun:test";
import { AdmissionGate } from "../../src/identity/admission-limits.ts";

function gate(limits = { maxMembers: 100, perSync: 4, perSecond: 2 }, live = 3) {
  let now = 0;
  const logs: Record<string, unknown>[] = [];
  const g = new AdmissionGate(
    limits,
    () => live,
    () => now,
    (f) => logs.push(f),
  );
  return { g, logs, advance: (ms: number) => (now += ms), setLive: (n: number) => (live = n) };
}

const sync = (g: AdmissionGate, ids: string[], ctx?: Parameters<AdmissionGate["admit"]>[1]) => {
  g.begin(true);
  const v = ids.map((id) => g.admit(id, ctx));
  g.end();
  return v;
};

describe("admission limits", () => {
  test("one exchange admits at most perSync new identities; the rest are refused and logged once", () => {
    const h = gate();
    const v = sync(
      h.g,
      Array.from({ length: 800 }, (_, i) => `p${i}`),
    );
    expect(v.filter((x) => x === "ok")).toHaveLength(4);
    expect(v.filter((x) => x === "rateLimited")).toHaveLength(796);
    expect(h.logs).toHaveLength(1);
    expect(h.logs[0]).toMatchObject({ rateLimited: 796 });
  });

  test("the per-second bucket refills; gossip (no exchange) is bound by it alone", () => {
    const h = gate();
    sync(h.g, ["a", "b", "c", "d"]);
    h.g.begin(false);
    expect(h.g.admit("e", undefined)).toBe("rateLimited");
    h.g.end();
    h.advance(1000);
    h.g.begin(false);
    expect([h.g.admit("e", undefined), h.g.admit("f", undefined), h.g.admit("g", undefined)]).toEqual(["ok", "ok", "rateLimited"]);
    h.g.end();
  });

  test("our own join and a handshake-proven joiner pass the rate caps, not the member limit", () => {
    const h = gate({ maxMembers: 10, perSync: 2, perSecond: 1 });
    const v = sync(
      h.g,
      Array.from({ length: 20 }, (_, i) => `m${i}`),
      { joining: true },
    );
    expect(v.filter((x) => x === "ok")).toHaveLength(7); // 3 listed + 7 = the limit of 10
    expect(v.filter((x) => x === "memberLimit")).toHaveLength(13);
    const h2 = gate({ maxMembers: 10, perSync: 1, perSecond: 1 });
    expect(sync(h2.g, ["other", "joiner", "third"], { proven: "joiner" })).toEqual(["ok", "ok", "rateLimited"]);
  });

  test("an identity admitted a moment ago is not charged again (the same state verified twice)", () => {
    const h = gate({ maxMembers: 100, perSync: 2, perSecond: 1 });
    expect(sync(h.g, ["a", "b"])).toEqual(["ok", "ok"]);
    expect(sync(h.g, ["a", "b"])).toEqual(["ok", "ok"]);
    h.advance(11_000);
    h.setLive(100);
    expect(sync(h.g, ["a"])).toEqual(["memberLimit"]);
  });
});
