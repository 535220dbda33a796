import { createPrivateKey } from "node:crypto";
import { ClaimGuard, type ClaimStats } from "../identity/claims.ts";
import { Keyring, keyFromSecret } from "../identity/keyring.ts";
import { identityFromPrivateKey, type NodeIdentity } from "../identity/node-identity.ts";
import { AeadGuard } from "../identity/packet-guard.ts";
import type { ClaimsFactory } from "../ports/claims.ts";
import type { PacketGuard } from "../ports/packet-guard.ts";

/** PKCS#8 DER of an Ed25519 private key is this prefix followed by its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** An Ed25519 identity from the simulation's random stream: the same seed gives the same node ids. */
export function seededIdentity(random: () => number): NodeIdentity {
  const seed = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) seed[i] = Math.floor(random() * 256);
  return identityFromPrivateKey(createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" }));
}

export interface SecuredParts {
  readonly guard: PacketGuard;
  readonly claims: ClaimsFactory;
  /** Claim verdicts, once the driver has built its claim checks. */
  claimStats(): ClaimStats | undefined;
}

/**
 * A simulated node's security, as a real node with --cluster-key has it: datagrams sealed with
 * the cluster key (on the virtual clock, so replay windows and skew checks run in virtual time)
 * and self-claims signed by the node's own key and verified by everyone else.
 */
export function securedParts(identity: NodeIdentity, clusterKey: string, now: () => number): SecuredParts {
  const guard = new AeadGuard(new Keyring([keyFromSecret(clusterKey)]), 60, now);
  let guardOfClaims: ClaimGuard | undefined;
  return {
    guard,
    claims: (table) => {
      guardOfClaims = new ClaimGuard(
        identity,
        (id) => table.member(id),
        () => {},
        now,
      );
      return guardOfClaims;
    },
    claimStats: () => guardOfClaims?.stats,
  };
}
