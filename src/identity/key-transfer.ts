/**
 * A cluster key on its way from the node an operator asked (`dsef keys install`) to another
 * member: wrapped under the wrap key of the sender's current cluster key (AES-256-GCM), bound to
 * the receiving node's address so it opens there only. It rides a node-authenticated request
 * (node-auth.ts), which rules out replays; the material itself never travels in clear.
 */
import { type ClusterKey, deriveClusterKey, type Keyring } from "./keyring.ts";
import { unwrapKeys, wrapKeys } from "./wrap.ts";

export interface SealedKey {
  /** The cluster key whose wrap key sealed it. */
  readonly kid: string;
  readonly keys: string;
}

const aad = (target: string) => `dsef/v1 keys install\n${target}`;

/** Seal `key` for the member at `target` ("ip:port"); undefined while we hold no key to send with. */
export function sealKeyFor(keyring: Keyring, target: string, key: ClusterKey): SealedKey | undefined {
  const send = keyring.sendKey;
  if (!send) return undefined;
  return { kid: send.kid, keys: wrapKeys(send.wrap, [key.material], aad(target)) };
}

/** Open a key sealed for this node (`self`, "ip:port"); undefined for anything else. */
export function openSealedKey(keyring: Keyring, self: string, sealed: SealedKey): ClusterKey | undefined {
  const by = keyring.get(sealed.kid);
  const keys = by ? unwrapKeys(by.wrap, sealed.keys, aad(self)) : undefined;
  return keys?.length === 1 ? deriveClusterKey(keys[0]!) : undefined;
}
