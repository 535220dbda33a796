/** Which JIT a node starts with (config/jit-flag.ts): lean unless it runs user code or is told otherwise. */
import { expect, test } from "bun:test";
import { leanJitEnv } from "../../src/config/jit-flag.ts";
import { parseNodeConfig } from "../../src/config/node-config.ts";

const lean = (argv: string[], env: Record<string, string> = {}) => leanJitEnv(argv, env)?.BUN_JSC_useDFGJIT;

test("lean by default; full with --jit full or a --handler; an operator's own JSC setting wins", () => {
  expect(lean(["--port", "5000"])).toBe("0");
  expect(lean(["--jit", "full"])).toBeUndefined();
  expect(lean(["--jit=full"])).toBeUndefined();
  expect(lean(["--handler", "./h.ts"])).toBeUndefined();
  expect(lean([], { DSEF_HANDLER: "./h.ts" })).toBeUndefined();
  expect(lean(["--handler", "./h.ts", "--jit", "lean"])).toBe("0");
  expect(lean([], { DSEF_JIT: "full" })).toBeUndefined();
  expect(lean(["--jit", "lean"], { BUN_JSC_useDFGJIT: "1" })).toBeUndefined();
  // A value the flag table refuses is not acted on here: the node then exits with the flag's error.
  expect(lean(["--jit", "fast"])).toBeUndefined();
  expect(() => parseNodeConfig(["--jit", "fast"], {})).toThrow(/auto, lean, full/);
});

test("the rest of the environment is passed on", () => {
  expect(leanJitEnv([], { HOME: "/h", DSEF_PORT: "5001" })).toEqual({ HOME: "/h", DSEF_PORT: "5001", BUN_JSC_useDFGJIT: "0" });
});
