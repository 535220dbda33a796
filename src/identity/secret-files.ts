/**
 * Checks on the secrets a node is started with, before anything else happens: files holding a
 * secret must not be readable by others, and the demo key published in this repository is not
 * a secret at all. Each refusal is a UsageError: one line naming the flag, exit code 2.
 */
import { readFileSync, statSync } from "node:fs";
import { UsageError } from "../util/usage-error.ts";

/** The demo keys in docker-compose.yml and k8s/secret.yaml (and anything made to look like them). */
export const DEMO_KEY_PREFIX = "dsef-demo-key-INSECURE";
export const isDemoKey = (secret: string): boolean => secret.startsWith(DEMO_KEY_PREFIX);

/**
 * A file holding a secret may be read by its owner only. Group-readable is allowed only for a
 * file owned by root: that is how Kubernetes delivers a Secret to a pod with an fsGroup (root
 * owns it, the pod's group reads it), and no other user can change it.
 */
export function checkSecretFile(flag: string, path: string): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return; // missing or unreadable: reported where it is read, with its own message
  }
  const mode = Number(st.mode) & 0o777;
  const others = (mode & 0o007) !== 0;
  const group = (mode & 0o070) !== 0 && Number(st.uid) !== 0;
  if (others || group) {
    throw new UsageError(
      `--${flag}: ${path} is readable by ${others ? "others" : "its group"} (mode ${mode.toString(8).padStart(3, "0")}); run: chmod 600 ${path}`,
    );
  }
}

/** A PEM file that holds a private key (a certificate file may carry its key too). */
export function holdsPrivateKey(path: string): boolean {
  try {
    return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(readFileSync(path, "utf8"));
  } catch {
    return false;
  }
}

export function refuseDemoKey(secrets: readonly string[], allowed: boolean): boolean {
  const demo = secrets.some(isDemoKey);
  if (demo && !allowed) {
    throw new UsageError(
      "the cluster key is the published demo key (docker-compose.yml, k8s/secret.yaml): anyone can join with it. Set your own (openssl rand -base64 32), or pass --insecure-demo-key (DSEF_INSECURE_DEMO_KEY=1) for a demo",
    );
  }
  return demo;
}
