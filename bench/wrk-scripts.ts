/**
 * wrk Lua scripts for bench/load.ts. wrk cannot sign, so signed requests are made here ahead of
 * time, as raw HTTP requests (each with its own packet id, signed for the target node), and wrk
 * cycles through them: `perThread` distinct packets per wrk thread. The unsigned comparison
 * cycles through the same number of distinct ids, so both see the same share of duplicates.
 */
import { writeFileSync } from "node:fs";
import { DEVICE_AUTH_HEADER, deviceKeyFor, signPacket } from "../src/identity/device-auth.ts";

export function fixedBodyScript(path: string): string {
  writeFileSync(path, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = '{"processing_load": 100}'\n`);
  return path;
}

/** Raw requests cycled per thread; `master` set: each signed by its device for `target` ("ip:port"). */
export function cycledScript(path: string, target: string, threads: number, perThread: number, master?: string): string {
  const tables: string[] = [];
  const now = Date.now();
  for (let t = 0; t < threads; t++) {
    const reqs: string[] = [];
    for (let i = 0; i < perThread; i++) {
      const device = `wrk-${t}-${i % 100}`;
      const id = `w${t}-${i}-${now}`;
      const body = JSON.stringify({ processing_load: 100, packet_id: id, device_id: device });
      const sig = master ? `${DEVICE_AUTH_HEADER}: ${signPacket(deviceKeyFor(master, device), id, device, body, now, target)}\r\n` : "";
      reqs.push(
        JSON.stringify(
          `POST /handle_request HTTP/1.1\r\nHost: ${target}\r\nContent-Type: application/json\r\n${sig}Content-Length: ${body.length}\r\n\r\n${body}`,
        ),
      );
    }
    tables.push(`R[${t}] = {\n${reqs.join(",\n")}\n}`);
  }
  const lua = `R = {}
${tables.join("\n")}
local n = 0
function setup(thread) thread:set("tid", n); n = n + 1 end
local mine, i
function init(args) mine = R[tid % ${threads}]; i = 0 end
function request() i = i + 1; if i > #mine then i = 1 end; return mine[i] end
`;
  writeFileSync(path, lua);
  return path;
}
