/** Helpers for identity tests: secured clusters on loopback, CA material, member tables. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CertificateAuthority, issueCertificate, newAuthority } from "../../src/identity/certificate.ts";
import { loadOrCreateIdentity } from "../../src/identity/node-identity.ts";
import { allocPorts, allSee, type NodeProcess, spawnNode, waitUntil } from "./processes.ts";

/** Start n nodes, each with `setup(i)`'s flags (and data dir, if it gives one), joining the first. */
export async function startSecuredCluster(
  n: number,
  setup: (i: number) => { args: string[]; dataDir?: string },
  opts: { apiToken?: string; tlsCa?: string } = {},
): Promise<NodeProcess[]> {
  const ports = allocPorts(n);
  const nodes: NodeProcess[] = [];
  for (const [i, port] of ports.entries()) {
    const { args, dataDir } = setup(i);
    nodes.push(
      await spawnNode({
        port,
        dataDir: dataDir ?? mkdtempSync(join(tmpdir(), `dsef-${port}-`)),
        bootstrap: i === 0 ? undefined : `http://127.0.0.1:${ports[0]}`,
        args,
        apiToken: opts.apiToken,
        tlsCa: opts.tlsCa,
      }),
    );
  }
  await waitUntil(
    () => allSee(nodes, nodes, "alive"),
    20_000,
    () => `cluster did not converge:\n${nodes.map((x) => x.output.slice(-5).join("\n")).join("\n")}`,
  );
  return nodes;
}

export interface TestCa {
  readonly authority: CertificateAuthority;
  readonly pubFile: string;
  readonly dir: string;
}

export function makeCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "dsef-ca-"));
  const { authority, publicPem } = newAuthority();
  const pubFile = join(dir, "ca.pub");
  writeFileSync(pubFile, publicPem);
  return { authority, pubFile, dir };
}

/** A data dir holding a node key and a certificate for it (or for `forKeyOf`'s key). */
export function certifiedDataDir(ca: CertificateAuthority, name: string, opts: { expiresInS?: number; forKeyOf?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `dsef-${name}-`));
  const own = loadOrCreateIdentity(dir).identity;
  const key = opts.forKeyOf ? loadOrCreateIdentity(opts.forKeyOf).identity.publicKeyRaw : own.publicKeyRaw;
  const cert = issueCertificate(ca, key, name, Date.now() / 1000 + (opts.expiresInS ?? 3600));
  writeFileSync(join(dir, "node.cert"), JSON.stringify(cert));
  return dir;
}

/** Ids every node lists (any state). */
export async function idsSeenBy(nodes: NodeProcess[]): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const n of nodes) for (const p of await n.peers()) ids.add(p.id);
  return ids;
}

export const logLines = (n: NodeProcess): Record<string, any>[] =>
  n.output.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, any>];
    } catch {
      return [];
    }
  });
