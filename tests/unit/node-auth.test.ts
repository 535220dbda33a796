import { expect, test } from "bun:test";
import { Keyring, keyFromSecret } from "../../src/identity/keyring.ts";
import { NODE_AUTH_HEADER, NodeAuth } from "../../src/identity/node-auth.ts";

const ring = () => new Keyring([keyFromSecret("node-auth-unit-key-0123456789")]);
const A = "10.0.0.1:8000";
const B = "10.0.0.2:8000";

test("a request held up while thousands went to other nodes is still accepted; a replay is not", () => {
  const sender = new NodeAuth(ring());
  const atA = new NodeAuth(ring());
  const late = sender.sign("POST", A, "/packets/replica", "x")[NODE_AUTH_HEADER]!;
  for (let i = 0; i < 3000; i++) sender.sign("GET", B, "/stats");
  const next = sender.sign("POST", A, "/packets/replica", "y")[NODE_AUTH_HEADER]!;
  expect(atA.check(next, "POST", A, "/packets/replica", "y")).toEqual({ ok: true });
  expect(atA.check(late, "POST", A, "/packets/replica", "x")).toEqual({ ok: true });
  expect(atA.check(late, "POST", A, "/packets/replica", "x").ok).toBe(false);
  expect(atA.stats.refused.replayed).toBe(1);
});

test("a request signed for one node is refused at another", () => {
  const sender = new NodeAuth(ring());
  const h = sender.sign("GET", A, "/stats")[NODE_AUTH_HEADER]!;
  const atB = new NodeAuth(ring());
  expect(atB.check(h, "GET", B, "/stats").ok).toBe(false);
  expect(atB.stats.refused.badMac).toBe(1);
});
