import { describe, expect, test } from "bun:test";
import { normalizeNode } from "../../esp/args.ts";
import { normaliseNode } from "../../src/cli/node-client.ts";
import { joinAddress, parseHost, parseNodeAddress, splitAddress } from "../../src/util/address.ts";
import { ADDRESS } from "../../src/wire/fields.ts";

describe("parseNodeAddress: one rule set for every way a node is named", () => {
  test("URL, host:port, bare host and IPv6 forms", () => {
    expect(parseNodeAddress("http://127.0.0.1:5000")).toEqual({ scheme: "http", host: "127.0.0.1", port: 5000 });
    expect(parseNodeAddress("http://edge-0.dsef:5001/")).toEqual({ scheme: "http", host: "edge-0.dsef", port: 5001 });
    expect(parseNodeAddress("10.1.3.199:5002")).toEqual({ scheme: "http", host: "10.1.3.199", port: 5002 });
    expect(parseNodeAddress(" dsef-headless ")).toEqual({ scheme: "http", host: "dsef-headless", port: 5000 });
    expect(parseNodeAddress("my_container:7")).toMatchObject({ host: "my_container", port: 7 });
    expect(parseNodeAddress("[::1]:6000")).toEqual({ scheme: "http", host: "::1", port: 6000 });
    expect(parseNodeAddress("[::1]")).toMatchObject({ host: "::1", port: 5000 });
    expect(parseNodeAddress("HTTP://Edge-1.Example:5000")).toEqual({ scheme: "http", host: "edge-1.example", port: 5000 });
  });

  test("a URL without a port means its scheme's port; a bare host the node default", () => {
    expect(parseNodeAddress("http://edge-1").port).toBe(80);
    expect(parseNodeAddress("https://edge-1")).toEqual({ scheme: "https", host: "edge-1", port: 443 });
    expect(parseNodeAddress("edge-1").port).toBe(5000);
  });

  const bad = [
    "",
    "http://",
    "a b",
    "host:99999",
    "host:0",
    "host:",
    "::1",
    "[::1",
    "[nothing]:5000",
    "ftp://h:1",
    "http://h:1/path",
    "http://user@h:1",
    "h:1?x",
    "h:1:2",
    `${"a".repeat(254)}:1`,
  ];
  for (const s of bad)
    test(`rejects ${JSON.stringify(s)} with one line naming it`, () => {
      expect(() => parseNodeAddress(s)).toThrow(/^not a node address: ".*" \(.*\)$/);
    });

  test("the node, the ESP simulator and the dsef commands apply the same rules", () => {
    for (const s of ["http://Node:5001/", "node:5001", "[::1]:5001", "node"]) {
      const { host, port } = parseNodeAddress(s);
      expect(normalizeNode(s)).toBe(joinAddress(host, port));
      expect(normaliseNode(s)).toBe(`http://${joinAddress(host, port)}`);
    }
    for (const s of ["http://", "h:0", "a b"]) {
      expect(() => normalizeNode(s)).toThrow(/--bootstrap: not a node address/);
      expect(() => normaliseNode(s)).toThrow(/--node: not a node address/);
    }
  });
});

test("parseHost takes a name, IPv4 or IPv6 (brackets optional)", () => {
  expect(parseHost("127.0.0.1")).toBe("127.0.0.1");
  expect(parseHost("0.0.0.0")).toBe("0.0.0.0");
  expect(parseHost("::")).toBe("::");
  expect(parseHost("[::1]")).toBe("::1");
  expect(parseHost("Edge-1")).toBe("edge-1");
  for (const s of ["", "a b", "a:b", "h/x", "[h]"]) expect(() => parseHost(s)).toThrow(/not a host name or IP address/);
});

test("joinAddress and splitAddress are inverses, IPv6 in brackets", () => {
  for (const [host, port] of [
    ["10.0.0.1", 5000],
    ["::1", 6000],
    ["edge-1", 1],
  ] as const) {
    const a = joinAddress(host, port);
    expect(splitAddress(a)).toEqual({ host, port });
    expect(parseNodeAddress(a)).toMatchObject({ host, port });
  }
  expect(joinAddress("::1", 6000)).toBe("[::1]:6000");
});

test("the wire's address field takes what joinAddress writes and nothing looser", () => {
  for (const [host, port] of [
    ["10.0.0.1", 5000],
    ["::1", 6000],
    ["edge-1.svc", 1],
    ["2001:db8::7", 65535],
  ] as const)
    expect(ADDRESS.test(joinAddress(host, port))).toBe(true);
  for (const s of ["10.0.0.1", "::1:5000", "a b:1", "[x]]:1", "h:1:2", "h:123456", `${"a".repeat(254)}:1`]) expect(ADDRESS.test(s)).toBe(false);
});
