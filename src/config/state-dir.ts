import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

/**
 * Where a node keeps its identity unless told otherwise: a per-user state directory, so a
 * restart from another working directory finds the same key instead of minting a new identity.
 * XDG_STATE_HOME when it is an absolute path (the XDG spec says to ignore relative ones), else
 * ~/.local/state; one subdirectory per HTTP port, as nodes on one host differ by port.
 */
export function defaultDataDir(
  port: number,
  env: Record<string, string | undefined>,
  home: () => string = homedir,
  exists: (p: string) => boolean = existsSync,
): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || home(), ".local", "state");
  const dir = join(base, "dsef", String(port));
  // Earlier versions kept the key in ./.dsef/<port>: a node upgraded in place keeps its identity.
  const legacy = resolve(".dsef", String(port));
  return !exists(join(dir, "node.key")) && exists(join(legacy, "node.key")) ? legacy : dir;
}
