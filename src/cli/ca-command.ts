/**
 * `dsef ca init` and `dsef ca issue`: an offline cluster authority. The CA private key stays
 * on the operator's machine; nodes get only the CA public key (--ca-pubkey) and their own
 * certificate (<data-dir>/node.cert). The same authority keeps a TLS CA next to it (an X.509
 * certificate and key, tls-ca.crt / tls-ca.key) and issues each node its TLS certificate with
 * `ca issue --tls` (<data-dir>/tls.crt and tls.key, for --tls-cert / --tls-key / --tls-ca).
 */

import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { authorityFromPrivateKey, caPublicKeyFromPem, issueCertificate, newAuthority } from "../identity/certificate.ts";
import { loadOrCreateIdentity } from "../identity/node-identity.ts";
import { issueTlsCertificate, newTlsAuthority } from "../identity/x509.ts";
import { parseHost } from "../util/address.ts";

export const summary = "cluster authority: `ca init` makes a CA key pair, `ca issue` a node certificate";

const usage = `usage:
  dsef ca init  --dir DIR
      writes DIR/ca.key (private, mode 0600: keep it offline) and DIR/ca.pub (give to nodes as --ca-pubkey),
      and the TLS authority DIR/tls-ca.key (private) and DIR/tls-ca.crt (give to nodes as --tls-ca);
      in a DIR that already has ca.key, adds only the TLS authority
  dsef ca issue --ca-key DIR/ca.key (--data-dir NODE_DIR | --pubkey NODE.pub) [--name NAME] [--days 365] [--addr HOST] [--out FILE]
      signs a certificate for a node's public key and name (the node must run under that name;
      with --addr also at that host, its --ip). With --data-dir the node key is read (or
      created) there and the certificate written to NODE_DIR/node.cert; with --pubkey (a PEM
      public key, e.g. from \`dsef ca pubkey --data-dir NODE_DIR\` on the node) it goes to --out.
  dsef ca issue --tls --ca-key DIR/ca.key --data-dir NODE_DIR --ip IP [--ip IP...] [--dns NAME...] [--name NAME] [--days 365]
      a TLS certificate for a node, signed by DIR/tls-ca.key, naming the addresses other nodes and
      devices reach it at (its --ip at least): NODE_DIR/tls.crt and NODE_DIR/tls.key (mode 0600)
  dsef ca pubkey --data-dir NODE_DIR
      prints the node's public key (PEM), creating the node key if needed, for issuing remotely`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case "init":
        return init(rest);
      case "issue":
        return issue(rest);
      case "pubkey":
        return pubkey(rest);
      case undefined:
      case "--help":
      case "help":
        console.log(usage);
        return sub ? 0 : 2;
      default:
        console.error(`dsef ca: unknown subcommand "${sub}"\n${usage}`);
        return 2;
    }
  } catch (e) {
    console.error(`dsef ca ${sub}: ${(e as Error).message}`);
    return 1;
  }
}

function options(argv: string[], names: string[]): Record<string, string | undefined> {
  const spec: Record<string, { type: "string" }> = {};
  for (const n of names) spec[n] = { type: "string" };
  return parseArgs({ args: argv, options: spec, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
}

const TLS_CA_KEY = "tls-ca.key";
const TLS_CA_CERT = "tls-ca.crt";

/** The TLS authority of the cluster authority in `dir` (created if missing). */
function initTls(dir: string): string {
  const keyPath = join(dir, TLS_CA_KEY);
  const certPath = join(dir, TLS_CA_CERT);
  const ca = newTlsAuthority("D-SEF cluster TLS CA");
  writeFileSync(keyPath, ca.keyPem, { mode: 0o600, flag: "wx" });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, ca.certPem, { mode: 0o644 });
  return `  TLS CA key:  ${keyPath} (keep offline)\n  TLS CA cert: ${certPath} (give to nodes and devices as --tls-ca)`;
}

function init(argv: string[]): number {
  const { dir } = options(argv, ["dir"]);
  if (!dir) throw new Error("--dir is required");
  const keyPath = join(dir, "ca.key");
  const pubPath = join(dir, "ca.pub");
  if (existsSync(keyPath)) {
    if (existsSync(join(dir, TLS_CA_KEY))) throw new Error(`${keyPath} exists; refusing to overwrite a CA key`);
    console.log(`TLS authority added to ${dir}\n${initTls(dir)}`);
    return 0;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { authority, privatePem, publicPem } = newAuthority();
  writeFileSync(keyPath, privatePem, { mode: 0o600, flag: "wx" });
  chmodSync(keyPath, 0o600);
  writeFileSync(pubPath, publicPem, { mode: 0o644 });
  console.log(
    `CA ${authority.id} created\n  private key: ${keyPath} (keep offline, never on a node)\n  public key:  ${pubPath} (start nodes with --ca-pubkey ${pubPath})\n${initTls(dir)}`,
  );
  return 0;
}

function issueTls(argv: string[]): number {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      tls: { type: "boolean" },
      "ca-key": { type: "string" },
      "data-dir": { type: "string" },
      ip: { type: "string", multiple: true },
      dns: { type: "string", multiple: true },
      name: { type: "string" },
      days: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!o["ca-key"]) throw new Error("--ca-key is required (the TLS authority is read from the same directory)");
  if (!o["data-dir"]) throw new Error("--data-dir is required (tls.crt and tls.key are written there)");
  const names = [...(o.ip ?? []), ...(o.dns ?? [])];
  if (names.length === 0) throw new Error("give the node's address: --ip IP (what other nodes reach it at; --dns NAME for names)");
  for (const ip of o.ip ?? []) if (!isIP(ip)) throw new Error(`--ip: not an IP address: "${ip}"`);
  const days = o.days === undefined ? 365 : Number(o.days);
  if (!Number.isFinite(days) || days <= 0 || days > 36500) throw new Error(`--days must be a number of days in (0, 36500]: "${o.days}"`);
  const dir = dirname(o["ca-key"]);
  const caKeyPath = join(dir, TLS_CA_KEY);
  if (!existsSync(caKeyPath)) throw new Error(`no TLS authority in ${dir}; create it with: dsef ca init --dir ${dir}`);
  const mode = statSync(caKeyPath).mode & 0o777;
  if (mode & 0o077) throw new Error(`${caKeyPath} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${caKeyPath}`);
  const privateKey = createPrivateKey(readFileSync(caKeyPath, "utf8"));
  const caCert = readFileSync(join(dir, TLS_CA_CERT), "utf8");
  const cn = new X509Certificate(caCert).subject.replace(/^CN=/, "");
  const name = (o.name ?? names[0]!).slice(0, 64);
  const cert = issueTlsCertificate({ certPem: caCert, privateKey, publicKey: createPublicKey(privateKey), cn }, name, names, days);
  mkdirSync(o["data-dir"], { recursive: true, mode: 0o700 });
  const keyOut = join(o["data-dir"], "tls.key");
  const certOut = join(o["data-dir"], "tls.crt");
  writeFileSync(keyOut, cert.keyPem, { mode: 0o600 });
  chmodSync(keyOut, 0o600);
  writeFileSync(certOut, cert.certPem, { mode: 0o644 });
  console.log(
    `TLS certificate for ${names.join(", ")}, valid ${days} days: ${certOut} (--tls-cert), ${keyOut} (--tls-key); --tls-ca ${join(dir, TLS_CA_CERT)}`,
  );
  return 0;
}

function readCaKey(path: string) {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new Error(`${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
  return authorityFromPrivateKey(readFileSync(path, "utf8"));
}

function issue(argv: string[]): number {
  if (argv.includes("--tls")) return issueTls(argv);
  const o = options(argv, ["ca-key", "data-dir", "pubkey", "name", "days", "addr", "out"]);
  if (!o["ca-key"]) throw new Error("--ca-key is required");
  if (!o["data-dir"] === !o.pubkey) throw new Error("give exactly one of --data-dir or --pubkey");
  const days = o.days === undefined ? 365 : Number(o.days);
  if (!Number.isFinite(days) || days <= 0 || days > 36500) throw new Error(`--days must be a number of days in (0, 36500]: "${o.days}"`);
  const ca = readCaKey(o["ca-key"]);
  let key: Buffer;
  let out = o.out;
  if (o["data-dir"]) {
    key = loadOrCreateIdentity(o["data-dir"]).identity.publicKeyRaw;
    out ??= join(o["data-dir"], "node.cert");
  } else {
    key = caPublicKeyFromPem(readFileSync(o.pubkey!, "utf8"));
    if (!out) throw new Error("--out is required with --pubkey");
  }
  const name = (o.name ?? "node").slice(0, 128);
  const expires = Math.floor(Date.now() / 1000 + days * 86400);
  const addr = o.addr === undefined ? undefined : parseHost(o.addr);
  const cert = issueCertificate(ca, key, name, expires, addr);
  writeFileSync(out, `${JSON.stringify(cert, null, 2)}\n`, { mode: 0o644 });
  console.log(`certificate for "${name}"${addr ? ` at ${addr}` : ""} by CA ${ca.id}, valid until ${new Date(expires * 1000).toISOString()}: ${out}`);
  return 0;
}

function pubkey(argv: string[]): number {
  const { "data-dir": dir } = options(argv, ["data-dir"]);
  if (!dir) throw new Error("--data-dir is required");
  process.stdout.write(loadOrCreateIdentity(dir).identity.publicKey.export({ type: "spki", format: "pem" }).toString());
  return 0;
}
