import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSimArgs } from "../../esp/args.ts";
import { percentile } from "../../esp/report.ts";
import { UsageError } from "../../src/util/usage-error.ts";

describe("simulator flags", () => {
  test("seed-compatible command line", () => {
    const c = parseSimArgs(["--bootstrap", "http://127.0.0.1:5000", "--interval", "5"]);
    expect(c).toMatchObject({ bootstrap: ["127.0.0.1:5000"], intervalS: 5, devices: 1, minLoad: 10, maxLoad: 500 });
    // The node address rules of src/util/address.ts: a bare host means port 5000.
    expect(parseSimArgs(["--bootstrap", "edge-1,[::1]:6000"])).toMatchObject({ bootstrap: ["edge-1:5000", "[::1]:6000"] });
  });

  test("--buffer and --window: a device's send buffer and requests in flight", () => {
    expect(parseSimArgs(["--bootstrap", "h:1"])).toMatchObject({ buffer: 100, window: 1 });
    expect(parseSimArgs(["--bootstrap", "h:1", "--buffer", "5", "--window", "3"])).toMatchObject({ buffer: 5, window: 3 });
  });

  const bad = [
    ["--bootstrap", "h:1", "--buffer", "0"],
    ["--bootstrap", "h:1", "--window", "1.5"],
    [],
    ["--bootstrap", "no pe"],
    ["--bootstrap", "ftp://h:1"],
    ["--bootstrap", "h:0"],
    ["--bootstrap", "h:1", "--devices", "0"],
    ["--bootstrap", "h:1", "--min-load", "9", "--max-load", "3"],
    ["--bootstrap", "h:1", "--what"],
    ["--bootstrap", "h:1", "--interval", "-1"],
  ];
  for (const argv of bad) {
    test(`rejects ${argv.join(" ") || "no flags"}`, () => {
      expect(() => parseSimArgs(argv)).toThrow(UsageError);
    });
  }
});

test("percentile is nearest-rank", () => {
  expect(percentile([], 99)).toBe(0);
  expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
  expect(
    percentile(
      Array.from({ length: 100 }, (_, i) => i + 1),
      99,
    ),
  ).toBe(99);
});

test("--tls-any-node-name (or DSEF_TLS_ANY_NODE_NAME) needs a CA; the chain is still checked", () => {
  const ca = join(mkdtempSync(join(tmpdir(), "esp-ca-")), "ca.crt");
  writeFileSync(ca, "-----BEGIN CERTIFICATE-----\n");
  expect(() => parseSimArgs(["--bootstrap", "edge", "--tls-any-node-name"])).toThrow("needs --tls-ca");
  expect(parseSimArgs(["--bootstrap", "edge"], { DSEF_TLS_CA: ca, DSEF_TLS_ANY_NODE_NAME: "1" })).toMatchObject({ tlsAnyName: true });
  expect(parseSimArgs(["--bootstrap", "edge", "--tls-ca", ca])).toMatchObject({ tlsAnyName: false });
});
