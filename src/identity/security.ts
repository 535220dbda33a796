import { existsSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { readFlagFile } from "../config/flag-files.ts";
import type { NodeConfig } from "../config/node-config.ts";
import type { Logger } from "../log/logger.ts";
import type { MemberSnapshot } from "../membership/types.ts";
import { type AdmitContext, type ClaimHooks, type ClaimsFactory, type MemberTable, openClaimsFactory } from "../ports/claims.ts";
import { openGuard, type PacketGuard } from "../ports/packet-guard.ts";
import { PeerRefusedError } from "../ports/peer-refused.ts";
import type { StateExchange } from "../ports/state-exchange.ts";
import { UsageError } from "../util/usage-error.ts";
import { type Certificate, caPublicKeyFromPem, certificateSchema, checkCertificate } from "./certificate.ts";
import { ClaimGuard } from "./claims.ts";
import type { Credentials } from "./handshake.ts";
import { joinVia } from "./join-client.ts";
import { JoinServer } from "./join-server.ts";
import { KeyRotation } from "./key-rotation.ts";
import { KeyStore } from "./key-store.ts";
import { Keyring, keyFromSecret } from "./keyring.ts";
import { NodeAuth } from "./node-auth.ts";
import type { NodeIdentity } from "./node-identity.ts";
import { AeadGuard } from "./packet-guard.ts";
import { checkSecretFile, refuseDemoKey } from "./secret-files.ts";
import { SyncAuth } from "./sync-auth.ts";
import { exchangeState } from "./sync-client.ts";

/**
 * Who belongs, and how it is checked, built from the node's flags:
 * - open      neither credential: anyone who can reach the node can join (demo only);
 * - secret    --cluster-key / DSEF_CLUSTER_KEY / --cluster-key-file: holders of the secret;
 * - ca        --ca-pubkey: holders of a valid certificate by the cluster authority; gossip
 *             keys are handed over inside the handshake;
 * - secret+ca both: a joiner needs both; gossip uses the secret.
 */
export type SecurityMode = "open" | "secret" | "ca" | "secret+ca";

/** What the seed side of the handshake needs of the running node. */
export interface AdmittingNode extends Omit<MemberTable, "liveCount"> {
  readonly claims: ClaimHooks;
  /** Merge a peer's state, answer with ours (signed). */
  serveSync(members: readonly MemberSnapshot[], join: boolean, ctx?: AdmitContext): MemberSnapshot[];
  /** Our full state, our own claims signed. */
  snapshot(): MemberSnapshot[];
}

/**
 * The node's parts that decide who belongs; the composition root hands them to the node driver
 * (guard, claims, exchange) and to the HTTP routes (sync auth, join server).
 */
export interface Security {
  readonly mode: SecurityMode;
  readonly creds: Credentials;
  /** Shared-secret mode: the keys held, changed at run time by `dsef keys` (key-store.ts). */
  readonly keys?: KeyStore;
  /** Seals and opens every datagram. */
  readonly guard: PacketGuard;
  readonly syncAuth?: SyncAuth;
  /** Authenticates the requests only nodes make to each other (absent in open mode). */
  readonly nodeAuth?: NodeAuth;
  /** Claim checks over the node's member table: verify others' self-claims, sign ours. */
  readonly claims: ClaimsFactory;
  /** Full-state exchange: the admission handshake for a join, an authenticated /sync otherwise. */
  readonly exchange: StateExchange;
  /** The seed side of the handshake over the running node (none in open mode). */
  joinServerFor(node: AdmittingNode): JoinServer | undefined;
  /**
   * SIGHUP: re-read --cluster-key-file (rotation without a restart; what changed in the file
   * applies over `dsef keys`' run-time changes, key-state.ts); in CA mode, rotate the gossip key
   * (key-rotation.ts). Returns a log message.
   */
  reload(): string;
  status(): Record<string, unknown>;
}

/** Secrets from a key file: one per line, the first sends; blank lines and # comments ignored. */
export function readKeyFile(path: string): string[] {
  const keys = readFlagFile("--cluster-key-file", path)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  if (keys.length === 0) throw new UsageError(`--cluster-key-file: ${path} holds no cluster key`);
  return keys;
}

function secretsOf(config: NodeConfig): string[] {
  if (config.clusterKeys.length > 0 && config.clusterKeyFile) throw new UsageError("--cluster-key-file: give either it or --cluster-key, not both");
  return config.clusterKeyFile ? readKeyFile(config.clusterKeyFile) : config.clusterKeys;
}

/**
 * Before anything starts: secret files readable by others and the published demo key are
 * refused (UsageError: one line, exit 2). True when the demo key is in use (allowed by
 * --insecure-demo-key), for the caller to say so loudly.
 */
export function checkSecrets(config: NodeConfig): boolean {
  if (config.clusterKeyFile) checkSecretFile("cluster-key-file", config.clusterKeyFile);
  let secrets: string[];
  try {
    secrets = secretsOf(config);
  } catch {
    return false; // reported by loadSecurity with its own message
  }
  return refuseDemoKey(secrets, config.insecureDemoKey);
}

/** Build the node's security from its config. Bad credentials: a one-line UsageError naming the flag. */
export function loadSecurity(config: NodeConfig, identity: NodeIdentity, log: Logger): Security {
  const secrets = secretsOf(config);
  const keyring = new Keyring();
  // Shared-secret mode: the configured keys merged with what `dsef keys` changed at run time.
  const keys = secrets.length > 0 ? new KeyStore(keyring, secrets.map(keyFromSecret), config.dataDir) : undefined;
  let caKey: Buffer | undefined;
  let cert: Certificate | undefined;
  if (config.caPubkey) {
    const pem = readFlagFile("--ca-pubkey", config.caPubkey);
    try {
      caKey = caPublicKeyFromPem(pem);
    } catch (e) {
      throw new UsageError(`--ca-pubkey: ${config.caPubkey}: ${(e as Error).message}`);
    }
    const certFile = config.certFile || join(config.dataDir, "node.cert");
    if (!existsSync(certFile))
      throw new UsageError(
        `--cert: no node certificate at ${certFile}; issue one with: dsef ca issue --ca-key ca.key --data-dir ${config.dataDir} --name ${config.name}`,
      );
    let raw: unknown;
    try {
      raw = JSON.parse(readFlagFile("--cert", certFile));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`--cert: ${certFile} is not a certificate (JSON expected)`);
    }
    const parsed = v.safeParse(certificateSchema, raw);
    if (!parsed.success) throw new UsageError(`--cert: ${certFile} is not a certificate`);
    cert = parsed.output;
    // The certificate names the node: with no --name the node takes it; another name is refused by everyone.
    if (!config.nameGiven) config.name = cert.name;
    const check = checkCertificate(cert, caKey, identity.publicKeyRaw, Date.now() / 1000);
    // Start anyway and let the seeds say no: the operator sees the refusal on both sides.
    if (!check.ok) log.error({ cert: certFile, reason: check.reason }, "this node's certificate is not valid; seeds will refuse it");
    else if (cert.name !== config.name)
      log.error(
        { cert: certFile, certified: cert.name, name: config.name },
        `this node's certificate is for "${cert.name}", not --name "${config.name}"; seeds will refuse it`,
      );
    else if (cert.addr !== undefined && cert.addr !== config.ip)
      log.error(
        { cert: certFile, certified: cert.addr, ip: config.ip },
        `this node's certificate is for host ${cert.addr}, not --ip ${config.ip}; its claims will be refused`,
      );
  }
  const secret = secrets.length > 0;
  const mode: SecurityMode = secret && caKey ? "secret+ca" : secret ? "secret" : caKey ? "ca" : "open";
  const creds: Credentials = {
    keyring,
    secret,
    caKey,
    cert,
    shareKeys: mode === "ca",
    learnKeys:
      keys &&
      ((handed) => {
        const r = keys.learn(handed);
        if (!r.ok) log.error({ reason: r.reason }, "cannot keep the cluster keys a seed handed over");
        else if (r.changed) log.info(keys.view(), "cluster keys updated at join: the cluster rotated while this node was away");
      }),
  };

  if (mode === "open") {
    log.warn(
      "OPEN MODE: no --cluster-key and no --ca-pubkey. Any process that can reach this node can join the cluster, send gossip and change membership. Use this for demos only.",
    );
    return {
      mode,
      creds,
      guard: openGuard,
      claims: openClaimsFactory,
      exchange: (http, members, join) => exchangeState(http, members, join),
      joinServerFor: () => undefined,
      reload: () => "open mode has no keys to reload",
      status: () => ({ mode }),
    };
  }

  const aead = new AeadGuard(keyring);
  const syncAuth = new SyncAuth(keyring, creds.shareKeys);
  const nodeAuth = new NodeAuth(keyring);
  // Made once each, when the composition root builds the node; kept here for status().
  let claimGuard: ClaimGuard | undefined;
  let joinServer: JoinServer | undefined;
  let admitting: AdmittingNode | undefined;
  const rotation = creds.shareKeys ? new KeyRotation(keyring) : undefined;
  if (rotation) {
    const timer = setInterval(() => {
      const changed = rotation.step();
      if (changed) log.info({ sending: keyring.sendKey?.kid, accepted: keyring.all().map((k) => k.kid) }, changed);
    }, 1000);
    timer.unref?.();
  }
  const holderIn = (table: Pick<MemberTable, "members">) => (gossip: string) => table.members().find((m) => m.info.gossip === gossip);
  const sec: Security = {
    mode,
    creds,
    keys,
    guard: aead,
    syncAuth,
    nodeAuth,
    claims(table) {
      claimGuard = new ClaimGuard(
        identity,
        (id) => table.member(id),
        (f, m) => log.error(f, m),
        Date.now,
        {
          authority: caKey ? { key: caKey, cert } : undefined,
          limits: { maxMembers: config.maxMembers, perSync: config.maxNewPerSync, perSecond: config.maxNewPerSecond },
          liveCount: () => table.liveCount,
        },
      );
      return claimGuard;
    },
    async exchange(http, members, join) {
      if (join) return joinVia(http, identity, creds, members);
      try {
        return await exchangeState(http, members, false, syncAuth);
      } catch (e) {
        // CA mode: a member that restarted holds no cluster key (or we hold none yet); a
        // handshake proves both sides and hands the keys over, where a sync cannot.
        const noKey = !creds.keyring.sendKey || e instanceof PeerRefusedError;
        if (creds.shareKeys && noKey) return joinVia(http, identity, creds, members);
        throw e;
      }
    },
    joinServerFor(node) {
      admitting = node;
      joinServer = new JoinServer(
        identity,
        creds,
        {
          member: (id) => node.member(id),
          holderOf: holderIn(node),
          verified: (m, joiner) => node.claims.admitSnapshots(m, { proven: joiner }),
          admit: (m, joiner) => node.serveSync(m, true, { proven: joiner }),
        },
        log,
      );
      return joinServer;
    },
    reload() {
      if (rotation && admitting) return rotateGossipKey(rotation, admitting, identity.id, (http, members) => joinVia(http, identity, creds, members), log);
      if (!config.clusterKeyFile || !keys) return "no --cluster-key-file to reload";
      checkSecretFile("cluster-key-file", config.clusterKeyFile);
      const secrets = readKeyFile(config.clusterKeyFile);
      refuseDemoKey(secrets, config.insecureDemoKey);
      keys.reload(secrets.map(keyFromSecret));
      return `cluster keys reloaded: ${keyring.size} accepted, sending with key id ${keyring.sendKey?.kid}`;
    },
    status: () => ({
      mode,
      keys: { accepted: keyring.all().map((k) => k.kid), sending: keyring.sendKey?.kid ?? null },
      packets: aead.stats,
      claims: claimGuard?.stats,
      sync: syncAuth.stats,
      node_requests: nodeAuth.stats,
      joins: joinServer?.stats,
    }),
  };
  log.info({ mode, sendKey: keyring.sendKey?.kid, accepted: keyring.size, ca: caKey ? "configured" : undefined }, "cluster admission configured");
  return sec;
}

/**
 * CA mode, SIGHUP: make a new gossip key and hand it to every live member by handshake (each
 * side shows a valid certificate, so a member removed for an expired one does not get it).
 */
function rotateGossipKey(
  rotation: KeyRotation,
  node: AdmittingNode,
  selfId: string,
  handover: (http: string, members: MemberSnapshot[]) => Promise<unknown>,
  log: Logger,
): string {
  const key = rotation.start();
  const peers = node.members().filter((m) => (m.state === "alive" || m.state === "suspect") && m.info.id !== selfId);
  void Promise.allSettled(peers.map((m) => handover(m.info.http, node.snapshot()))).then((r) => {
    const failed = peers.filter((_, i) => r[i]!.status === "rejected").map((m) => m.info.http);
    log.info({ key: key.kid, handedTo: peers.length - failed.length, failed }, "gossip key rotation: new key handed over");
  });
  return `gossip key rotation started: new key id ${key.kid}; members send with it within seconds and drop older keys 30 s later`;
}
