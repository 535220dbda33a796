/**
 * --tls-cert / --tls-key / --tls-ca, read and checked at start: both or neither of the first
 * two, the key private (mode 0600, like every secret file), a certificate file that also holds
 * its key checked the same way. Mistakes are one-line UsageErrors naming the flag (exit 2).
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { readFlagFile } from "../config/flag-files.ts";
import { checkSecretFile, holdsPrivateKey } from "../identity/secret-files.ts";
import { UsageError } from "../util/usage-error.ts";

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  /** PEM of the CA peers' certificates chain to; undefined: the system's roots. */
  readonly ca?: string;
  /** Peers' certificates need not name their address (they must still chain to `ca`). */
  readonly anyNodeName: boolean;
}

export function loadTls(config: { tlsCert: string; tlsKey: string; tlsCa: string; tlsAnyNodeName: boolean; ip: string }): TlsFiles | undefined {
  if (!config.tlsCert && !config.tlsKey) {
    if (config.tlsCa) throw new UsageError("--tls-ca: give --tls-cert and --tls-key too (a node serves https and calls its peers over https, or neither)");
    return undefined;
  }
  if (!config.tlsCert) throw new UsageError("--tls-key: give --tls-cert too");
  if (!config.tlsKey) throw new UsageError("--tls-cert: give --tls-key too");
  checkSecretFile("tls-key", config.tlsKey);
  if (holdsPrivateKey(config.tlsCert)) checkSecretFile("tls-cert", config.tlsCert);
  const cert = readFlagFile("--tls-cert", config.tlsCert);
  const key = readFlagFile("--tls-key", config.tlsKey);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new UsageError(`--tls-cert: ${config.tlsCert} is not a PEM certificate`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new UsageError(`--tls-key: ${config.tlsKey} is not the key of ${config.tlsCert}`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--tls-key: ${config.tlsKey} is not a PEM private key`);
  }
  if (config.tlsAnyNodeName && !config.tlsCa) throw new UsageError("--tls-any-node-name: give --tls-ca too (any name, but only from the cluster's own CA)");
  // Peers reach this node at --ip: a certificate without it would be refused by every one of them.
  const covered = config.tlsAnyNodeName || (isIP(config.ip) ? x509.checkIP(config.ip) : x509.checkHost(config.ip));
  if (!covered)
    throw new UsageError(
      `--tls-cert: ${config.tlsCert} does not name ${config.ip} (--ip) in its subjectAltName (${x509.subjectAltName ?? "none"}); issue one with: dsef ca issue --tls --ip ${config.ip}`,
    );
  let ca: string | undefined;
  if (config.tlsCa) {
    ca = readFlagFile("--tls-ca", config.tlsCa);
    try {
      new X509Certificate(ca);
    } catch {
      throw new UsageError(`--tls-ca: ${config.tlsCa} is not a PEM certificate`);
    }
  }
  return { cert, key, ca, anyNodeName: config.tlsAnyNodeName };
}
