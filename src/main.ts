#!/usr/bin/env bun
/**
 * D-SEF edge node. Seed-compatible command line:
 *   bun src/main.ts --ip 127.0.0.1 --port 5000 --promised_capacity 1000
 *   bun src/main.ts --ip 127.0.0.1 --port 5001 --promised_capacity 800 --bootstrap http://127.0.0.1:5000
 */
import { fsReason } from "./config/flag-files.ts";
import { helpText, type NodeConfig, parseNodeConfig } from "./config/node-config.ts";
import { joinAddress } from "./util/address.ts";
import { UsageError } from "./util/usage-error.ts";
import { checkApiToken } from "./http/api-auth.ts";
import { startHttpServer } from "./http/server.ts";
import { loadTls, type TlsFiles } from "./http/tls-files.ts";
import { loadServiceFor } from "./load/from-config.ts";
import { loadOrCreateIdentity } from "./identity/node-identity.ts";
import { type DeviceAuth, loadDeviceAuth } from "./identity/device-auth.ts";
import { checkSecrets, loadSecurity, type Security } from "./identity/security.ts";
import { createLogger } from "./log/logger.ts";
import { configurePeerHttp } from "./ports/peer-http.ts";
import { EdgeNode } from "./runtime/edge-node.ts";
import { runJoin } from "./runtime/join.ts";
import { rememberPeers } from "./runtime/peer-memory.ts";

function configOrExit(): NodeConfig {
  try {
    const c = parseNodeConfig(process.argv.slice(2), process.env, process.stdout.isTTY === true);
    if (c === "help") {
      console.log(helpText());
      process.exit(0);
    }
    return c;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    usageExit(`${e.message} (see --help)`);
  }
}

/** What the operator got wrong (a flag, a file a flag names): one line, exit code 2. */
function usageExit(message: string): never {
  console.error(`dsef: ${message}`);
  process.exit(2);
}

const config = configOrExit();
// Secret files others can read, the published demo key, a bad API token: refused before anything starts.
let demoKey = false;
let tls: TlsFiles | undefined;
try {
  demoKey = checkSecrets(config);
  checkApiToken(config);
  tls = loadTls(config);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  usageExit(e.message);
}
const log = createLogger({ level: config.logLevel, format: config.logFormat, name: config.name });
if (demoKey) {
  log.error("INSECURE: running with the published demo key (--insecure-demo-key). Anyone who has read docker-compose.yml or k8s/secret.yaml can join this cluster. Set your own DSEF_CLUSTER_KEY for anything but a demo.");
}

let identity: ReturnType<typeof loadOrCreateIdentity>["identity"];
try {
  const loaded = loadOrCreateIdentity(config.dataDir);
  identity = loaded.identity;
  log.info({ id: identity.id, dataDir: config.dataDir }, loaded.created ? "created node identity" : "loaded node identity");
} catch (e) {
  usageExit(`--data-dir: cannot use ${config.dataDir}: ${fsReason(e)}`);
}

let security: Security;
try {
  security = loadSecurity(config, identity, log);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  usageExit(e.message);
}
let devices: DeviceAuth | undefined;
try {
  devices = loadDeviceAuth(config, security.mode !== "open", joinAddress(config.ip, config.port));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  usageExit(e.message);
}

// Every call to another node: signed in a secured cluster, over https with --tls-cert.
const nodeAuth = security.nodeAuth;
configurePeerHttp({ tls: tls && { ca: tls.ca, anyName: tls.anyNodeName }, sign: nodeAuth && ((method, target, path, body) => nodeAuth.sign(method, target, path, body)) });

const node = new EdgeNode(config, identity, log.child({ id: identity.id }), security.guard);
security.attach(node);
const load = loadServiceFor(node);
let server: ReturnType<typeof startHttpServer>;
try {
  // HTTP first: a listening port is what tells others we have not crashed.
  server = startHttpServer(node, security, load, devices, tls);
  await node.start();
} catch (e) {
  log.fatal({ err: (e as Error).message, port: config.port, gossipPort: config.gossipPort }, "cannot listen");
  process.exit(1);
}
log.info(
  { http: node.swim.self.http, gossip: node.swim.self.gossip, capacity: config.capacity, profile: config.profile, bootstrap: config.bootstrap },
  "edge node started",
);

load.start();
const joining = new AbortController();
void runJoin(node, joining.signal);
const forgetPeers = rememberPeers(node);

let stopping = false;
let settle: (code: number) => void = () => {};
/** Settles with the exit code once the node has stopped (`dsef node` exits with it). */
export const stopped = new Promise<number>((resolve) => (settle = resolve));
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "leaving the cluster");
  joining.abort();
  load.stop();
  await node.leave();
  forgetPeers();
  server.stop(true);
  log.info("stopped");
  settle(0);
  // Everything is closed, so the event loop ends by itself; should something leak (a timer, a
  // socket), say so and exit anyway rather than linger.
  setTimeout(() => {
    log.warn("still running 1 s after stopping; exiting anyway");
    process.exit(0);
  }, 1000).unref();
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGHUP", () => {
  try {
    log.info(security.reload());
  } catch (e) {
    log.error({ err: (e as Error).message }, "cannot reload cluster keys; keeping the current ones");
  }
});
