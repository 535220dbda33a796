/**
 * The signature on a webhook delivery, in the style of the nodes' own request header
 * (identity/node-auth.ts):
 *
 *   x-dsef-signature: <kid>.<unix ms>.<mac b64url>
 *   mac = HMAC-SHA256(webhook key, "dsef/v1 webhook\n" + <unix ms> + "\n" + body)
 *
 * The webhook key is derived from the cluster key (HKDF, as every other use of it), so a
 * receiver holds a key that checks deliveries and nothing else: it cannot join the cluster.
 * `dsef webhook-key` prints it; `kid` names the cluster key it came from (rotation).
 */
import { createHmac, hkdfSync } from "node:crypto";
import type { ClusterKey } from "../identity/keyring.ts";

export const SIGNATURE_HEADER = "x-dsef-signature";

export interface WebhookKey {
  readonly kid: string;
  readonly key: Buffer;
}

export function webhookKey(k: ClusterKey): WebhookKey {
  return { kid: k.kid, key: Buffer.from(hkdfSync("sha256", k.material, "dsef/v1 cluster key", "webhook", 32)) };
}

function macOf(key: Buffer, ts: string, body: string): string {
  return createHmac("sha256", key).update(`dsef/v1 webhook\n${ts}\n`).update(body).digest("base64url");
}

export function signWebhook(k: WebhookKey, ts: number, body: string): string {
  return `${k.kid}.${ts}.${macOf(k.key, String(ts), body)}`;
}

/** The webhook key of whatever cluster key sends now (it changes on rotation), derived once per key. */
export function currentWebhookKey(sendKey: () => ClusterKey | undefined): () => WebhookKey | undefined {
  let last: WebhookKey | undefined;
  return () => {
    const k = sendKey();
    if (!k) return undefined;
    if (last?.kid !== k.kid) last = webhookKey(k);
    return last;
  };
}
