/** `dsef ca init / issue / pubkey` as an operator runs them: real processes, real files. */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caPublicKeyFromPem, checkCertificate } from "../../src/identity/certificate.ts";
import { loadOrCreateIdentity } from "../../src/identity/node-identity.ts";
import { BUN, ROOT } from "../support/processes.ts";

const dsef = (...args: string[]) => {
  const p = Bun.spawnSync([BUN, join(ROOT, "src/cli/dsef.ts"), ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() };
};

test("ca init makes a 0600 CA key; ca issue certifies a node key; both refuse mistakes", () => {
  const dir = mkdtempSync(join(tmpdir(), "dsef-ca-cli-"));
  const ca = join(dir, "ca");
  expect(dsef("ca", "init", "--dir", ca).code).toBe(0);
  expect(statSync(join(ca, "ca.key")).mode & 0o777).toBe(0o600);
  const again = dsef("ca", "init", "--dir", ca);
  expect(again.code).toBe(1);
  expect(again.err).toMatch(/refusing to overwrite/);

  const node = join(dir, "node1");
  expect(dsef("ca", "issue", "--ca-key", join(ca, "ca.key"), "--data-dir", node, "--name", "node1", "--days", "30").code).toBe(0);
  const caKey = caPublicKeyFromPem(readFileSync(join(ca, "ca.pub"), "utf8"));
  const nodeKey = loadOrCreateIdentity(node).identity.publicKeyRaw;
  const cert = JSON.parse(readFileSync(join(node, "node.cert"), "utf8"));
  expect(checkCertificate(cert, caKey, nodeKey, Date.now() / 1000)).toEqual({ ok: true, name: "node1" });
  expect(checkCertificate(cert, caKey, nodeKey, Date.now() / 1000 + 31 * 86400)).toMatchObject({ ok: false });

  // Remote issuing: the node prints its public key, the CA signs it elsewhere.
  const remote = join(dir, "node2");
  const pub = dsef("ca", "pubkey", "--data-dir", remote);
  expect(pub.out).toMatch(/BEGIN PUBLIC KEY/);
  writeFileSync(join(dir, "node2.pub"), pub.out);
  expect(
    dsef("ca", "issue", "--ca-key", join(ca, "ca.key"), "--pubkey", join(dir, "node2.pub"), "--name", "node2", "--out", join(dir, "node2.cert")).code,
  ).toBe(0);
  const cert2 = JSON.parse(readFileSync(join(dir, "node2.cert"), "utf8"));
  expect(checkCertificate(cert2, caKey, loadOrCreateIdentity(remote).identity.publicKeyRaw, Date.now() / 1000)).toMatchObject({ ok: true });

  expect(dsef("ca", "issue", "--ca-key", join(ca, "ca.key"), "--name", "x").code).toBe(1);
  expect(dsef("ca", "issue", "--ca-key", join(ca, "ca.key"), "--data-dir", node, "--days", "-3").err).toMatch(/--days/);
  expect(dsef("ca", "nope").code).toBe(2);
  expect(dsef("--help").out).toMatch(/dsef ca/);
}, 60_000);
