/**
 * `dsef ca init` and `dsef ca issue`: an offline cluster authority. The CA private key stays
 * on the operator's machine; nodes get only the CA public key (--ca-pubkey) and their own
 * certificate (<data-dir>/node.cert).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { authorityFromPrivateKey, caPublicKeyFromPem, issueCertificate, newAuthority } from "../identity/certificate.ts";
import { loadOrCreateIdentity } from "../identity/node-identity.ts";
import { parseHost } from "../util/address.ts";

export const summary = "cluster authority: `ca init` makes a CA key pair, `ca issue` a node certificate";

const usage = `usage:
  dsef ca init  --dir DIR
      writes DIR/ca.key (private, mode 0600: keep it offline) and DIR/ca.pub (give to nodes as --ca-pubkey)
  dsef ca issue --ca-key DIR/ca.key (--data-dir NODE_DIR | --pubkey NODE.pub) [--name NAME] [--days 365] [--addr HOST] [--out FILE]
      signs a certificate for a node's public key and name (the node must run under that name;
      with --addr also at that host, its --ip). With --data-dir the node key is read (or
      created) there and the certificate written to NODE_DIR/node.cert; with --pubkey (a PEM
      public key, e.g. from \`dsef ca pubkey --data-dir NODE_DIR\` on the node) it goes to --out.
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

function init(argv: string[]): number {
  const { dir } = options(argv, ["dir"]);
  if (!dir) throw new Error("--dir is required");
  const keyPath = join(dir, "ca.key");
  const pubPath = join(dir, "ca.pub");
  if (existsSync(keyPath)) throw new Error(`${keyPath} exists; refusing to overwrite a CA key`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { authority, privatePem, publicPem } = newAuthority();
  writeFileSync(keyPath, privatePem, { mode: 0o600, flag: "wx" });
  chmodSync(keyPath, 0o600);
  writeFileSync(pubPath, publicPem, { mode: 0o644 });
  console.log(
    `CA ${authority.id} created\n  private key: ${keyPath} (keep offline, never on a node)\n  public key:  ${pubPath} (start nodes with --ca-pubkey ${pubPath})`,
  );
  return 0;
}

function readCaKey(path: string) {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new Error(`${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
  return authorityFromPrivateKey(readFileSync(path, "utf8"));
}

function issue(argv: string[]): number {
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
