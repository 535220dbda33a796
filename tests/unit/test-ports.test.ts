/** DSEF_TEST_PORTS: loopback tests can be kept to a port range. */
import { expect, test } from "bun:test";
import { testPortRange } from "../support/processes.ts";

test("the test port range: a default below the ephemeral ports, LOW-HIGH from DSEF_TEST_PORTS, nonsense refused", () => {
  expect(testPortRange({})).toEqual({ low: 20_000, high: 29_999 });
  expect(testPortRange({ DSEF_TEST_PORTS: "21000-21999" })).toEqual({ low: 21_000, high: 21_999 });
  for (const bad of ["21000", "21000-21010", "80-2000", "60000-70000", "a-b"]) expect(() => testPortRange({ DSEF_TEST_PORTS: bad })).toThrow(/DSEF_TEST_PORTS/);
});
