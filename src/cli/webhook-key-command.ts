/**
 * `dsef webhook-key`: the key a webhook receiver checks deliveries with, derived from the
 * cluster key as the nodes derive it (hooks/signature.ts). It verifies signatures and does
 * nothing else: a receiver holding it cannot join the cluster. Prints "KID KEY" (hex) lines, one
 * per cluster key, the first being the one nodes sign with now (rotation: keep every line).
 */
import { parseArgs } from "node:util";
import { splitList } from "../config/parse-values.ts";
import { webhookKey } from "../hooks/signature.ts";
import { keyFromSecret } from "../identity/keyring.ts";
import { readKeyFile } from "../identity/security.ts";
import { UsageError } from "../util/usage-error.ts";
import { runCli } from "./node-client.ts";

export const summary = "print the key a webhook receiver checks x-dsef-signature with (--cluster-key-file FILE or $DSEF_CLUSTER_KEY)";

const help = [
  "usage: dsef webhook-key [--cluster-key-file FILE]",
  "",
  "  --cluster-key-file FILE   the cluster secret(s), as given to the nodes (else $DSEF_CLUSTER_KEY_FILE or $DSEF_CLUSTER_KEY)",
  '  prints "KID KEY" lines (KEY in hex), the first signing now; a receiver checks',
  '  x-dsef-signature: KID.UNIX_MS.MAC with MAC = base64url(HMAC-SHA256(KEY, "dsef/v1 webhook\\n" + UNIX_MS + "\\n" + body))',
].join("\n");

export function run(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  return runCli(async () => {
    let values: { "cluster-key-file"?: string; help?: boolean };
    try {
      values = parseArgs({ args: argv, options: { "cluster-key-file": { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true }).values;
    } catch (e) {
      throw new UsageError(`${(e as Error).message.split("\n")[0]} (see --help)`);
    }
    if (values.help) return (console.log(help), 0);
    const file = values["cluster-key-file"] ?? env.DSEF_CLUSTER_KEY_FILE;
    const secrets = file ? readKeyFile(file) : splitList(env.DSEF_CLUSTER_KEY ?? "");
    if (secrets.length === 0) throw new UsageError("no cluster key: --cluster-key-file FILE, DSEF_CLUSTER_KEY_FILE or DSEF_CLUSTER_KEY");
    for (const s of secrets) {
      let k: ReturnType<typeof keyFromSecret>;
      try {
        k = keyFromSecret(s);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const w = webhookKey(k);
      console.log(`${w.kid} ${w.key.toString("hex")}`);
    }
    return 0;
  });
}
