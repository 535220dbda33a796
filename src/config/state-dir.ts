import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

/**
 * Where a node keeps its identity unless told otherwise: a per-user state directory, so a
 * restart from another working directory finds the same key instead of minting a new identity.
 * XDG_STATE_HOME when it is an absolute path (the XDG spec says to ignore relative ones), else
 * ~/.local/state; one subdirectory per HTTP port, as nodes on one host differ by port.
 */
export function defaultDataDir(port: number, env: Record<string, string | undefined>, home: () => string = homedir): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || home(), ".local", "state");
  return join(base, "dsef", String(port));
}
