/** CPU time and resident memory of a process, straight from /proc (Linux). */
import { readFileSync } from "node:fs";
import { spawnSync } from "bun";

/** Clock ticks per second for /proc/PID/stat times. */
export const CLK_TCK = Number(spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** utime + stime in ticks, or undefined if the process is gone. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes (VmRSS), or undefined if the process is gone. */
export function rssBytes(pid: number): number | undefined {
  return statusKb(pid, "VmRSS");
}

/**
 * The anonymous part of the RSS (RssAnon: heap, stacks, JIT code), in bytes. The rest is file
 * pages (the runtime's own executable), which processes running the same file share.
 */
export function rssAnonBytes(pid: number): number | undefined {
  return statusKb(pid, "RssAnon");
}

/**
 * Proportional set size (Pss, /proc/PID/smaps_rollup) in bytes: each shared page divided by the
 * processes mapping it, so N nodes started from one binary each carry 1/N of its pages. What a
 * node adds to the machine's memory, where RSS counts the shared runtime N times.
 */
export function pssBytes(pid: number): number | undefined {
  try {
    const m = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").match(/^Pss:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function statusKb(pid: number, field: string): number | undefined {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
