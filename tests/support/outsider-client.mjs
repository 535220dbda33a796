#!/usr/bin/env node
/**
 * An outsider's HTTP client for attack tests, run by Node (not Bun) because Node's sockets can
 * pick their source address: 127.0.0.2, 127.0.0.3 ... are other machines as far as a node
 * bound to 127.0.0.1 can tell, which is what per-client limits are keyed on.
 *
 *   node outsider-client.mjs '{"kind": "...", "port": 5000, "from": "127.0.0.2", ...}'
 *
 * Jobs (results are one JSON line on stdout):
 * - body:  one POST with a huge body, chunked or with a Content-Length, sent as fast as the
 *          server takes it: {status, firstByteMs, closedMs, sentBytes}
 * - flood: `count` requests, `concurrency` at a time: {statuses: {code: n}, retryAfter, ms}
 * - slow:  open `count` POSTs whose chunked bodies never finish, `concurrency` sockets: what
 *          came back within `holdMs`: {statuses: {code: n}, silent: n}
 * - hold:  open `count` GET streams and keep them; prints {"held": n, statuses} once all have
 *          answered, then holds until killed (or `holdMs`).
 */
import http from "node:http";
import net from "node:net";

const job = JSON.parse(process.argv[2]);
const host = job.host ?? "127.0.0.1";
const from = job.from;
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

function body() {
  const t0 = performance.now();
  const s = net.connect({ host, port: job.port, localAddress: from });
  let status = 0;
  let firstByteMs = -1;
  let sent = 0;
  let text = "";
  const finish = () => {
    out({ status, firstByteMs, closedMs: Math.round(performance.now() - t0), sentBytes: sent, body: text.slice(0, 300) });
    process.exit(0);
  };
  s.on("data", (d) => {
    if (firstByteMs < 0) firstByteMs = Math.round(performance.now() - t0);
    text += d.toString();
    status ||= Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
  });
  s.on("close", finish);
  s.on("error", () => {});
  s.on("connect", async () => {
    const head = [`POST ${job.path} HTTP/1.1`, `Host: ${host}:${job.port}`, `Content-Type: ${job.contentType ?? "application/json"}`];
    for (const [k, v] of Object.entries(job.headers ?? {})) head.push(`${k}: ${v}`);
    head.push(job.chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${job.declared ?? job.total}`);
    s.write(`${head.join("\r\n")}\r\n\r\n`);
    const chunk = Buffer.alloc(job.chunk ?? 65536, 0x20);
    while (sent < job.total && !s.destroyed && firstByteMs < 0) {
      const ok = job.chunked ? s.write(`${chunk.byteLength.toString(16)}\r\n`) && s.write(chunk) && s.write("\r\n") : s.write(chunk);
      sent += chunk.byteLength;
      if (!ok) await new Promise((r) => (s.once("drain", r), s.once("close", r), s.once("data", r)));
    }
    if (job.chunked && !s.destroyed && firstByteMs < 0) s.write("0\r\n\r\n");
    // An answer came (or everything was sent): give the server a moment to close, then end.
    setTimeout(() => s.destroy(), job.lingerMs ?? 200);
  });
}

async function flood() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency ?? 16, localAddress: from });
  const statuses = {};
  const retryAfter = new Set();
  let next = 0;
  const t0 = performance.now();
  const one = () =>
    new Promise((resolve) => {
      const req = http.request(
        {
          host,
          port: job.port,
          path: job.path,
          method: job.method ?? "GET",
          agent,
          headers: { "content-type": job.contentType ?? "application/json", ...(job.headers ?? {}) },
        },
        (res) => {
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          if (res.headers["retry-after"]) retryAfter.add(res.headers["retry-after"]);
          res.resume();
          res.on("end", resolve);
          res.on("error", resolve);
        },
      );
      req.on("error", (e) => {
        statuses[e.code ?? "error"] = (statuses[e.code ?? "error"] ?? 0) + 1;
        resolve();
      });
      req.end(job.body === undefined ? undefined : typeof job.body === "string" ? job.body : JSON.stringify(job.body).replace("$N", String(next)));
    });
  const worker = async () => {
    while (next < job.count) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: job.concurrency ?? 16 }, worker));
  agent.destroy();
  out({ statuses, retryAfter: [...retryAfter], ms: Math.round(performance.now() - t0) });
}

function slow() {
  const statuses = {};
  let silent = 0;
  const sockets = [];
  for (let i = 0; i < job.count; i++) {
    const s = net.connect({ host, port: job.port, localAddress: from });
    let status = 0;
    s.on("data", (d) => (status ||= Number(/^HTTP\/1\.1 (\d+)/.exec(d.toString())?.[1] ?? 0)));
    s.on("error", () => {});
    s.on("connect", () =>
      s.write(`POST ${job.path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"pro\r\n`),
    );
    sockets.push(() => status);
  }
  setTimeout(() => {
    for (const st of sockets) {
      const code = st();
      if (code) statuses[code] = (statuses[code] ?? 0) + 1;
      else silent++;
    }
    out({ statuses, silent });
    process.exit(0);
  }, job.holdMs ?? 2000);
}

function hold() {
  const statuses = {};
  let answered = 0;
  const sockets = [];
  for (let i = 0; i < job.count; i++) {
    const req = http.get({ host, port: job.port, path: job.path ?? "/events", localAddress: from, agent: false, headers: job.headers ?? {} }, (res) => {
      let first = true;
      res.on("data", (d) => {
        if (!first) return;
        first = false;
        // Read nothing more when asked to play dead: the server's buffers must not grow for it.
        if (job.stall) res.pause();
        const kind = /^event: (\w+)/.exec(d.toString())?.[1] ?? "data";
        const key = `${res.statusCode}:${kind}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
        if (++answered === job.count) out({ held: job.count, statuses });
      });
      res.on("end", () => {
        statuses.ended = (statuses.ended ?? 0) + 1;
        if (first && ++answered === job.count) out({ held: job.count, statuses });
      });
    });
    req.on("error", (e) => {
      statuses[e.code ?? "error"] = (statuses[e.code ?? "error"] ?? 0) + 1;
      if (++answered === job.count) out({ held: job.count, statuses });
    });
    sockets.push(req);
  }
  // Paused sockets do not keep Node alive by themselves.
  setInterval(() => {}, 1000);
  if (job.holdMs) setTimeout(() => (out({ final: statuses }), process.exit(0)), job.holdMs);
}

if (job.kind === "body") body();
else if (job.kind === "flood") await flood();
else if (job.kind === "hold") hold();
else if (job.kind === "slow") slow();
else throw new Error(`unknown job ${job.kind}`);
