/** CA mode claim checks: every alive claim carries a certificate for its key, name, host and time. */
import { describe, expect, test } from "bun:test";
import { issueCertificate, newAuthority } from "../../src/identity/certificate.ts";
import { certTail } from "../../src/identity/certified-claims.ts";
import { ClaimGuard, caClaimSigner, signAlive } from "../../src/identity/claims.ts";
import { generateIdentity } from "../../src/identity/node-identity.ts";
import type { Member, NodeInfo } from "../../src/membership/types.ts";

const { authority: ca } = newAuthority();
const { authority: otherCa } = newAuthority();

function setup(nowMs = 1_000_000_000_000) {
  const self = generateIdentity();
  const table = new Map<string, Member>();
  let now = nowMs;
  const warnings: string[] = [];
  const guard = new ClaimGuard(
    self,
    (id) => table.get(id),
    (_f, m) => warnings.push(m),
    () => now,
    { authority: { key: ca.publicKeyRaw, cert: issueCertificate(ca, self.publicKeyRaw, "self", now / 1000 + 3600) } },
  );
  return { self, guard, table, warnings, advance: (ms: number) => (now += ms), nowS: () => now / 1000 };
}

const infoOf = (id: string, name: string, host = "10.0.0.2"): NodeInfo => ({ id, name, gossip: `${host}:7946`, http: `${host}:5000`, capacity: 1000 });

describe("certified claims", () => {
  test("a claim with a certificate for its key and name is admitted; without one, or for another name, it is not", () => {
    const h = setup();
    const node = generateIdentity();
    const sign = caClaimSigner(node, issueCertificate(ca, node.publicKeyRaw, "node1", h.nowS() + 60));
    const good = infoOf(node.id, "node1");
    expect(h.guard.admitUpdates([{ kind: "alive", incarnation: 1, info: good, proof: sign(1, good) }])).toHaveLength(1);

    const renamed = infoOf(node.id, "admin-console");
    const foreignCa = caClaimSigner(node, issueCertificate(otherCa, node.publicKeyRaw, "node1", h.nowS() + 60));
    const stranger = generateIdentity();
    const strangerInfo = infoOf(stranger.id, "node1");
    const out = h.guard.admitUpdates([
      { kind: "alive", incarnation: 2, info: renamed, proof: sign(2, renamed) }, // node1's certificate, another name
      { kind: "alive", incarnation: 2, info: good, proof: foreignCa(2, good) }, // another authority
      { kind: "alive", incarnation: 1, info: strangerInfo, proof: signAlive(stranger, 1, strangerInfo) }, // no certificate
      // node1's certificate attached to another key's claim
      { kind: "alive", incarnation: 1, info: strangerInfo, proof: new Uint8Array([...signAlive(stranger, 1, strangerInfo), ...sign(1, good).subarray(96)]) },
    ]);
    expect(out).toHaveLength(0);
    expect(h.guard.stats.rejected.uncertified).toBe(4);
  });

  test("a certificate bound to an address covers only claims at that host", () => {
    const h = setup();
    const node = generateIdentity();
    const sign = caClaimSigner(node, issueCertificate(ca, node.publicKeyRaw, "pinned", h.nowS() + 60, "10.0.0.7"));
    const there = infoOf(node.id, "pinned", "10.0.0.7");
    const elsewhere = infoOf(node.id, "pinned", "10.0.0.8");
    const split = { ...there, http: "10.0.0.8:5000" };
    expect(h.guard.admitUpdates([{ kind: "alive", incarnation: 1, info: there, proof: sign(1, there) }])).toHaveLength(1);
    expect(h.guard.admitUpdates([{ kind: "alive", incarnation: 2, info: elsewhere, proof: sign(2, elsewhere) }])).toHaveLength(0);
    expect(h.guard.admitUpdates([{ kind: "alive", incarnation: 2, info: split, proof: sign(2, split) }])).toHaveLength(0);
  });

  test("a listed member whose certificate expires is reported once, and its claims are refused from then on", () => {
    const h = setup();
    const node = generateIdentity();
    const cert = issueCertificate(ca, node.publicKeyRaw, "short", h.nowS() + 10);
    const info = infoOf(node.id, "short");
    const proof = caClaimSigner(node, cert)(1, info);
    expect(h.guard.admitUpdates([{ kind: "alive", incarnation: 1, info, proof }])).toHaveLength(1);
    h.table.set(node.id, { info, state: "alive", incarnation: 1, changedAt: 0, proof });
    expect(h.guard.expired()).toEqual([]);
    h.advance(10_500);
    expect(h.guard.expired()).toEqual([node.id]);
    expect(h.guard.expired()).toEqual([]);
    expect(h.warnings).toContain("member certificate expired: removed");
    // The same claim again (a retransmission, the next sync), and its refutation, are refused.
    expect(h.guard.admitUpdates([{ kind: "alive", incarnation: 1, info, proof }])).toHaveLength(0);
    expect(h.guard.admitUpdates([{ kind: "alive", incarnation: 2, info, proof: caClaimSigner(node, cert)(2, info) }])).toHaveLength(0);
    expect(h.guard.stats.rejected.expired).toBe(2);
    // A renewed certificate (after a restart: a higher incarnation) is admitted again.
    const renewed = caClaimSigner(node, issueCertificate(ca, node.publicKeyRaw, "short", h.nowS() + 3600));
    expect(h.guard.admitUpdates([{ kind: "alive", incarnation: 3, info, proof: renewed(3, info) }])).toHaveLength(1);
  });

  test("our own claims go out with our certificate, and other members admit them", () => {
    const a = setup();
    const b = setup();
    const mine = { ...infoOf(a.self.id, "self") };
    const [signed] = a.guard.signSnapshots([{ info: mine, state: "alive", incarnation: 1 }]);
    expect(signed!.proof!.byteLength).toBe(96 + 73);
    expect(b.guard.admitSnapshots([signed!])).toHaveLength(1);
    expect(certTail(issueCertificate(ca, a.self.publicKeyRaw, "self", 1)).byteLength).toBe(73);
  });
});
