import { readFileSync } from "node:fs";
import { UsageError } from "../util/usage-error.ts";

/** A file system error in words (`no such file`), without the errno prefix and the repeated path. */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EISDIR: "is a directory",
    ENOTDIR: "a part of the path is not a directory",
    EROFS: "read-only file system",
    ENOSPC: "no space left on the device",
  };
  return (code && words[code]) || (e as Error).message.split("\n")[0]!;
}

/** Read a file a flag names; any failure is a one-line UsageError naming the flag. */
export function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path}: ${fsReason(e)}`);
  }
}
