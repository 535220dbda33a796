/**
 * `dsef device-key DEVICE_ID...`: the key each device signs its packets with, derived from the
 * cluster's device master (--device-key-file FILE, or DSEF_DEVICE_KEY), exactly as the nodes
 * derive it. Give each device only its own key. With several ids, prints "ID KEY" lines: the
 * ESP simulator's --device-key-file format.
 */
import { parseArgs } from "node:util";
import { deviceKeyFor, deviceMasterOf, MIN_MASTER_LENGTH } from "../identity/device-auth.ts";
import { UsageError } from "../util/usage-error.ts";
import { runCli } from "./node-client.ts";

export const summary = "print the key a device signs its packets with (--device-key-file FILE or $DSEF_DEVICE_KEY)";

const help = [
  "usage: dsef device-key DEVICE_ID [DEVICE_ID...] [--device-key-file FILE]",
  "",
  "  --device-key-file FILE   the cluster's device master (else $DSEF_DEVICE_KEY), as given to the nodes",
  '  one id: prints its key; several: prints "ID KEY" lines (the ESP simulator\'s --device-key-file)',
].join("\n");

export function run(argv: string[]): Promise<number> {
  return runCli(async () => {
    let parsed: ReturnType<
      typeof parseArgs<{ options: { "device-key-file": { type: "string" }; help: { type: "boolean"; short: "h" } }; allowPositionals: true }>
    >;
    try {
      parsed = parseArgs({
        args: argv,
        options: { "device-key-file": { type: "string" }, help: { type: "boolean", short: "h" } },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UsageError(`${(e as Error).message.split("\n")[0]} (see --help)`);
    }
    if (parsed.values.help) return (console.log(help), 0);
    const ids = parsed.positionals;
    if (ids.length === 0) throw new UsageError("give the device id(s) (see --help)");
    const master = deviceMasterOf({
      deviceKey: parsed.values["device-key-file"] ? "" : (process.env.DSEF_DEVICE_KEY ?? ""),
      deviceKeyFile: parsed.values["device-key-file"] ?? "",
    });
    if (!master) throw new UsageError("no device master: --device-key-file FILE or DSEF_DEVICE_KEY");
    if (master.length < MIN_MASTER_LENGTH) throw new UsageError(`the device master needs at least ${MIN_MASTER_LENGTH} characters`);
    for (const id of ids) {
      if (!/^[\x21-\x7e]{1,128}$/.test(id)) throw new UsageError(`not a device id: "${id}" (1-128 printable ASCII characters)`);
      console.log(ids.length === 1 ? deviceKeyFor(master, id) : `${id} ${deviceKeyFor(master, id)}`);
    }
    return 0;
  });
}
