/** The README is part of the product: it must name every flag the node accepts. */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { helpText } from "../../src/config/node-config.ts";

test("the README documents every node flag and its environment twin", () => {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
  const flags = [...helpText().matchAll(/^ {2}(--[\w-]+)(?:.*\[(DSEF_\w+)\])?/gm)];
  expect(flags.length).toBeGreaterThan(20);
  for (const [, flag, env] of flags) {
    expect(readme).toContain(`\`${flag}`);
    if (env) expect(readme).toContain(env);
  }
});
