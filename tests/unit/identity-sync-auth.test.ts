import { describe, expect, test } from "bun:test";
import { parseNodeConfig } from "../../src/config/node-config.ts";
import { Keyring, keyFromSecret, randomClusterKey } from "../../src/identity/keyring.ts";
import { AUTH_HEADER, KEYS_HEADER, SyncAuth } from "../../src/identity/sync-auth.ts";

const A = "sync-auth-secret-aaaaaaaaaa";
const B = "sync-auth-secret-bbbbbbbbbb";

describe("/sync authentication", () => {
  test("accepted once; replay, tampering, wrong key, stale time and no header refused", () => {
    const client = new SyncAuth(new Keyring([keyFromSecret(A)]), false);
    const server = new SyncAuth(new Keyring([keyFromSecret(A)]), false);
    const body = '{"join":false,"members":[]}';
    const { headers, nonce, key } = client.sign(body);
    expect(server.check(headers[AUTH_HEADER]!, body, null)).toMatchObject({ ok: true });
    expect(server.check(headers[AUTH_HEADER]!, body, null)).toMatchObject({ ok: false, status: 401, reason: "replayed request" });
    const h2 = client.sign(body).headers[AUTH_HEADER]!;
    expect(server.check(h2, body.replace("false", "true"), null)).toMatchObject({ ok: false, status: 403 });
    expect(server.check(null, body, null)).toMatchObject({ ok: false, status: 401 });
    expect(server.check("garbage", body, null)).toMatchObject({ ok: false, status: 401 });
    const other = new SyncAuth(new Keyring([keyFromSecret(B)]), false);
    expect(server.check(other.sign(body).headers[AUTH_HEADER]!, body, null)).toMatchObject({ ok: false, status: 403, reason: "cluster key not accepted here" });
    const late = new SyncAuth(new Keyring([keyFromSecret(A)]), false, 60_000, () => Date.now() - 120_000);
    expect(server.check(late.sign(body).headers[AUTH_HEADER]!, body, null)).toMatchObject({ ok: false, status: 401 });
    // The answer is bound to the request's nonce and body.
    const res = '{"members":[]}';
    const rh = server.responseHeaders(key, nonce, res);
    expect(client.checkResponse(key, nonce, res, rh[AUTH_HEADER]!, null)).toBe(true);
    expect(client.checkResponse(key, nonce, res.replace("[]", "[ ]"), rh[AUTH_HEADER]!, null)).toBe(false);
    expect(client.checkResponse(key, "0".repeat(32), res, rh[AUTH_HEADER]!, null)).toBe(false);
  });
  test("CA mode: the keyring spreads with authenticated syncs", () => {
    const shared = randomClusterKey();
    const extra = randomClusterKey();
    const client = new SyncAuth(new Keyring([shared, extra]), true);
    const serverRing = new Keyring([shared]);
    const server = new SyncAuth(serverRing, true);
    const { headers } = client.sign("{}");
    expect(server.check(headers[AUTH_HEADER]!, "{}", headers[KEYS_HEADER]!)).toMatchObject({ ok: true });
    expect(serverRing.get(extra.kid)).toBeDefined();
    expect(serverRing.sendKey!.kid).toBe(shared.kid);
  });
});

describe("credential flags", () => {
  test("--cluster-key takes a list; env twins work", () => {
    const c = parseNodeConfig(["--cluster-key", "one-secret-of-16+,two-secret-of-16+"], {});
    expect(c !== "help" && c.clusterKeys).toEqual(["one-secret-of-16+", "two-secret-of-16+"]);
    const e = parseNodeConfig([], { DSEF_CLUSTER_KEY_FILE: "/x", DSEF_CA_PUBKEY: "/ca.pub", DSEF_CERT: "/n.cert" });
    expect(e !== "help" && [e.clusterKeyFile, e.caPubkey, e.certFile]).toEqual(["/x", "/ca.pub", "/n.cert"]);
  });
});
