import { expect, test } from "bun:test";
import { PeerRefusedError } from "../../src/ports/peer-refused.ts";
import { isConnectionRefused } from "../../src/util/connection-refused.ts";

test("a refused connection is recognised by Bun's code and by Node's", () => {
  expect(isConnectionRefused(Object.assign(new Error("x"), { code: "ConnectionRefused" }))).toBe(true);
  expect(isConnectionRefused(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe(true);
  for (const e of [
    new Error("x"),
    Object.assign(new Error("x"), { code: "ECONNRESET" }),
    new DOMException("t", "TimeoutError"),
    undefined,
    null,
    "ECONNREFUSED",
  ])
    expect(isConnectionRefused(e)).toBe(false);
});

test("a peer's refusal is one error class that says who refused what and why", () => {
  const e: unknown = new PeerRefusedError("join", "10.0.0.2:5000", 403, "unknown cluster key");
  expect(e).toBeInstanceOf(PeerRefusedError);
  expect(e).toBeInstanceOf(Error);
  expect((e as PeerRefusedError).message).toBe("join via 10.0.0.2:5000 refused (HTTP 403): unknown cluster key");
  expect(new PeerRefusedError("sync", "h:1", 0, "bad signature").message).toContain("peer not trusted");
});
