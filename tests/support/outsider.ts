/**
 * Attack tests' side of the outsider client (outsider-client.mjs, run by Node so it can choose
 * its source address), and the node's memory as the kernel reports it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const CLIENT = join(import.meta.dir, "outsider-client.mjs");
const NODE = Bun.which("node") ?? "node";

export type Job = Record<string, unknown> & { kind: "body" | "flood" | "hold" | "slow"; port: number };

/** Run one job to its end; its JSON result. */
export async function outsider(job: Job): Promise<any> {
  const p = Bun.spawn([NODE, CLIENT, JSON.stringify(job)], { stdout: "pipe", stderr: "pipe" });
  const [text, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const last = text.trim().split("\n").pop();
  if (!last) throw new Error(`outsider client printed nothing: ${err}`);
  return JSON.parse(last);
}

/** Start a `hold` job: resolves once every stream answered; `stop()` lets them all go. */
export async function holdStreams(job: Omit<Job, "kind">): Promise<{ result: any; stop(): Promise<void> }> {
  const p = Bun.spawn([NODE, CLIENT, JSON.stringify({ ...job, kind: "hold" })], { stdout: "pipe", stderr: "pipe" });
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const timeout = setTimeout(() => p.kill("SIGKILL"), 20_000);
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  clearTimeout(timeout);
  if (!text.includes("\n")) throw new Error(`hold client ended early: ${await new Response(p.stderr).text()}`);
  return {
    result: JSON.parse(text.split("\n")[0]!),
    stop: async () => {
      p.kill("SIGKILL");
      await p.exited;
    },
  };
}

/** Resident memory of a process in MB (VmRSS). */
export function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  return kb / 1024;
}

/** Run `fn` while sampling `pid`'s RSS every 20 ms; the highest value seen, in MB. */
export async function peakRssDuring<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // the process is gone; the test will say so
    }
  }, 20);
  try {
    const value = await fn();
    peak = Math.max(peak, rssMb(pid));
    return { value, peakMb: peak };
  } finally {
    clearInterval(timer);
  }
}
