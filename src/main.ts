#!/usr/bin/env bun
/**
 * D-SEF edge node. Seed-compatible command line:
 *   bun src/main.ts --ip 127.0.0.1 --port 5000 --promised_capacity 1000
 *   bun src/main.ts --ip 127.0.0.1 --port 5001 --promised_capacity 800 --bootstrap http://127.0.0.1:5000
 * `dsef node ...` runs the same `runNode`.
 */
import { HandlerError, startNode } from "./app/start-node.ts";
import { fsReason } from "./config/flag-files.ts";
import { helpText, type NodeConfig, parseNodeConfig } from "./config/node-config.ts";
import { checkApiToken } from "./http/api-auth.ts";
import { loadTls, type TlsFiles } from "./http/tls-files.ts";
import { type DeviceAuth, loadDeviceAuth } from "./identity/device-auth.ts";
import { loadOrCreateIdentity, type NodeIdentity } from "./identity/node-identity.ts";
import { checkSecrets, loadSecurity, type Security } from "./identity/security.ts";
import { LogTap } from "./log/log-tap.ts";
import { createLogger } from "./log/logger.ts";
import { configurePeerHttp } from "./ports/peer-http.ts";
import { joinAddress } from "./util/address.ts";
import { UsageError } from "./util/usage-error.ts";

/**
 * Run an edge node with these flags until SIGTERM or SIGINT makes it leave the cluster.
 * Resolves with the process exit code: 0 after a graceful leave or --help, 2 for what the
 * operator got wrong (a flag, a file or directory a flag names: one line on stderr), 1 when the
 * node cannot listen.
 */
export async function runNode(argv: readonly string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let config: NodeConfig;
  try {
    const c = parseNodeConfig([...argv], env, process.stdout.isTTY === true);
    if (c === "help") {
      console.log(helpText());
      return 0;
    }
    config = c;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return usageError(`${e.message} (see --help)`);
  }
  // Secret files others can read, the published demo key, a bad API token or TLS file: refused before anything starts.
  let demoKey: boolean;
  let tls: TlsFiles | undefined;
  try {
    demoKey = checkSecrets(config);
    checkApiToken(config);
    tls = loadTls(config);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return usageError(e.message);
  }
  // `dsef monitor` watches the log through the tap, at the level it asks for.
  const logTap = new LogTap();
  const log = createLogger({ level: config.logLevel, format: config.logFormat, name: config.name, tap: logTap });
  if (demoKey) {
    log.error(
      "INSECURE: running with the published demo key (--insecure-demo-key). Anyone who has read docker-compose.yml or k8s/secret.yaml can join this cluster. Set your own DSEF_CLUSTER_KEY for anything but a demo.",
    );
  }

  let identity: NodeIdentity;
  try {
    const loaded = loadOrCreateIdentity(config.dataDir);
    identity = loaded.identity;
    log.info({ id: identity.id, dataDir: config.dataDir }, loaded.created ? "created node identity" : "loaded node identity");
  } catch (e) {
    return usageError(`--data-dir: cannot use ${config.dataDir}: ${fsReason(e)}`);
  }
  const nodeLog = log.child({ id: identity.id });

  let security: Security;
  let devices: DeviceAuth | undefined;
  try {
    security = loadSecurity(config, identity, nodeLog);
    devices = loadDeviceAuth(config, security.mode !== "open", joinAddress(config.ip, config.port));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return usageError(e.message);
  }
  // Every call to another node: signed in a secured cluster, over https with --tls-cert.
  const nodeAuth = security.nodeAuth;
  configurePeerHttp({
    tls: tls && { ca: tls.ca, anyName: tls.anyNodeName },
    sign: nodeAuth && ((method, target, path, body) => nodeAuth.sign(method, target, path, body)),
  });

  let running: Awaited<ReturnType<typeof startNode>>;
  try {
    running = await startNode(config, identity, security, nodeLog, { devices, tls }, { logTap });
  } catch (e) {
    if (e instanceof HandlerError) return usageError(`--handler: ${e.message}`);
    log.fatal({ err: (e as Error).message, port: config.port, gossipPort: config.gossipPort }, "cannot listen");
    return 1;
  }
  const self = running.node.swim.self;
  log.info({ http: self.http, gossip: self.gossip, capacity: config.capacity, profile: config.profile, bootstrap: config.bootstrap }, "edge node started");

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "leaving the cluster");
      await running.stop();
      log.info("stopped");
      resolve(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
    process.on("SIGHUP", () => {
      try {
        log.info(security.reload());
      } catch (e) {
        log.error({ err: (e as Error).message }, "cannot reload cluster keys; keeping the current ones");
      }
    });
  });
}

/** What the operator got wrong: one line, exit code 2. */
function usageError(message: string): number {
  console.error(`dsef: ${message}`);
  return 2;
}

if (import.meta.main) process.exit(await runNode(process.argv.slice(2)));
