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

test("every `npm run X` the docs mention is a script in package.json", () => {
  const root = join(import.meta.dir, "../..");
  const scripts = Object.keys(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts);
  for (const doc of ["README.md", "docs/CONTAINERS.md", "docs/BENCHMARKS.md", "docs/LOAD.md", "docs/DASHBOARD.md", "docs/SECURITY.md"]) {
    const text = readFileSync(join(root, doc), "utf8");
    for (const [, name] of text.matchAll(/npm run ([\w:-]+)/g)) expect({ doc, name, known: scripts.includes(name!) }).toEqual({ doc, name, known: true });
  }
});

test("the README's image-setting line matches the image lines of the manifests it names", () => {
  const root = join(import.meta.dir, "../..");
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const m = /sed -i 's#(.+?)#.+?#' ((?:k8s\/\S+\.yaml ?)+)/.exec(readme);
  expect(m).not.toBeNull();
  for (const file of m![2]!.trim().split(" ")) expect(readFileSync(join(root, file), "utf8")).toContain(m![1]!);
});
