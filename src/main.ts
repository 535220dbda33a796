#!/usr/bin/env bun
/**
 * D-SEF edge node. Seed-compatible command line:
 *   bun src/main.ts --ip 127.0.0.1 --port 5000 --promised_capacity 1000
 *   bun src/main.ts --ip 127.0.0.1 --port 5001 --promised_capacity 800 --bootstrap http://127.0.0.1:5000
 */
import { helpText, type NodeConfig, parseNodeConfig, UsageError } from "./config/node-config.ts";
import { checkApiToken } from "./http/api-auth.ts";
import { startHttpServer } from "./http/server.ts";
import { loadServiceFor } from "./load/from-config.ts";
import { loadOrCreateIdentity } from "./identity/node-identity.ts";
import { StartupRefusal } from "./identity/secret-files.ts";
import { checkSecrets, loadSecurity, type Security } from "./identity/security.ts";
import { createLogger } from "./log/logger.ts";
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
    demoKey = checkSecrets(c);
    checkApiToken(c);
    return c;
  } catch (e) {
    if (e instanceof StartupRefusal) {
      console.error(`dsef: ${e.message}`);
      process.exit(2);
    }
    if (!(e instanceof UsageError)) throw e;
    console.error(`dsef: ${e.message} (see --help)`);
    process.exit(2);
  }
}

let demoKey = false;
const config = configOrExit();
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
  log.fatal({ err: (e as Error).message }, "cannot load node identity");
  process.exit(1);
}

let security: Security;
try {
  security = loadSecurity(config, identity, log);
} catch (e) {
  log.fatal({ err: (e as Error).message }, "cannot load cluster credentials");
  process.exit(1);
}

const node = new EdgeNode(config, identity, log.child({ id: identity.id }), security.guard);
security.attach(node);
const load = loadServiceFor(node);
let server: ReturnType<typeof startHttpServer>;
try {
  // HTTP first: a listening port is what tells others we have not crashed.
  server = startHttpServer(node, security, load);
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
rememberPeers(node);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "leaving the cluster");
  joining.abort();
  load.stop();
  await node.leave();
  server.stop(true);
  log.info("stopped");
  process.exit(0);
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
