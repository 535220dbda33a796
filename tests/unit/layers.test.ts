/**
 * "Dependencies point inward only", checked: every import in src/ (static, `export … from`,
 * type-only and dynamic) is read, each file is mapped to its layer by its folder, and the test
 * fails on an import that points outward, between two sibling layers, or that closes a cycle
 * between folders or between files.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

/**
 * The layers, inside out. A file may import from its own folder and from folders of a lower
 * rank; folders of equal rank are siblings and know nothing of each other.
 */
const LAYERS: Record<string, number> = {
  log: 0, // structured logging, imports nothing of ours
  util: 0, // address parsing, seeded RNG, shuffle, UsageError, prom-client's classes: imports nothing of ours
  membership: 1, // the sans-IO SWIM core
  wire: 2, // datagram codec, sync schema
  config: 3, // flags and environment → NodeConfig
  ports: 4, // interfaces inner layers need and outer ones implement (packet guard, claims, state exchange)
  identity: 5, // keys, claims, sealing, the join handshake, the authenticated sync client
  load: 6, // the work model and request routing
  driver: 7, // the node driver: codec + guard + claims + dispatch + wake-ups over an I/O interface
  runtime: 8, // the driver over a real UDP socket, timers and fetch; join loop
  sim: 8, // the driver over a virtual clock and a simulated network (beside the runtime)
  metrics: 9,
  hooks: 9, // event handlers and webhooks told of membership events (beside the metrics)
  http: 10,
  dashboard: 11,
  app: 12, // the composition root
  main: 13, // src/main.ts: runNode(argv)
  cli: 14, // the dsef command
};

/**
 * Outside src/, only the `dsef` command may import, and only these: the ESP simulator (an app of
 * its own beside the node; the single binary carries it as `dsef esp`) and package.json (the
 * version `dsef --version` prints).
 */
const OUTSIDE_FOR_CLI = [`${resolve(SRC, "../esp")}/`, resolve(SRC, "../package.json")];
const outside = (file: string) => relative(SRC, file).startsWith("..");

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly spec: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Module specifiers a file imports: static imports, `export … from`, type-only, side-effect and dynamic imports. */
export function importsOf(code: string): string[] {
  // Comments first (block comments and whole-line // comments), so examples in docs do not count.
  const text = code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const specs: string[] = [];
  const patterns = [
    /^\s*import\s+(?:type\s+)?[^;'"()]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /^\s*export\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s*from\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.push(m[1]!);
  return specs;
}

/** The layer (folder) of a file under src/: its first folder, or its name for files at the top. */
function layerOf(file: string): string {
  const rel = relative(SRC, file);
  const first = rel.split("/")[0]!;
  return rel.includes("/") ? first : first.replace(/\.tsx?$/, "");
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const spec of importsOf(readFileSync(file, "utf8"))) {
      if (!spec.startsWith(".")) continue; // a package
      const target = resolve(dirname(file), spec);
      if (!existsSync(target)) throw new Error(`${relative(SRC, file)} imports ${spec}, which does not exist`);
      out.push({ from: file, to: target, spec });
    }
  }
  return out;
}

/** Strongly connected components with more than one member (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

function graphOf(pairs: Iterable<[string, string]>): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const [a, b] of pairs) {
    if (a === b) continue;
    if (!g.has(a)) g.set(a, new Set());
    if (!g.has(b)) g.set(b, new Set());
    g.get(a)!.add(b);
  }
  return g;
}

describe("layers", () => {
  const all = edges();
  const show = (e: Edge) => `${relative(SRC, e.from)} → ${e.spec}`;

  test("the import reader sees every kind of import", () => {
    const code = [
      'import { a } from "./a.ts";',
      'import type {\n  B,\n  C,\n} from "../b.ts";',
      'import "./side.ts";',
      'export { d } from "./d.ts";',
      'export * from "./e.ts";',
      'export type { F } from "./f.ts";',
      'const g = () => import("./g.ts");',
      "/** import { x } from './not-this.ts' */",
      '// import { y } from "./nor-this.ts";',
      'const url = "http://example.com/from/x";',
      'export const h = "from \\"./h.ts\\"";',
    ].join("\n");
    expect(importsOf(code).sort()).toEqual(["../b.ts", "./a.ts", "./d.ts", "./e.ts", "./f.ts", "./g.ts", "./side.ts"]);
    // And on the real tree: a few edges known to exist are found.
    const has = (from: string, to: string) => all.some((e) => relative(SRC, e.from) === from && relative(SRC, e.to) === to);
    expect(has("runtime/edge-node.ts", "driver/node-driver.ts")).toBe(true);
    expect(has("cli/dsef.ts", "cli/node-command.ts")).toBe(true); // a dynamic import
    expect(has("membership/swim.ts", "membership/types.ts")).toBe(true); // a multi-line type import
  });

  test("every folder of src/ has a layer", () => {
    const unknown = [...new Set(sourceFiles(SRC).map(layerOf))].filter((l) => !(l in LAYERS));
    expect(unknown).toEqual([]);
  });

  test("no import points outward or sideways", () => {
    const allowedOutside = (e: Edge) => layerOf(e.from) === "cli" && OUTSIDE_FOR_CLI.some((p) => e.to === p || e.to.startsWith(p));
    const bad = all
      .filter((e) => (outside(e.to) ? !allowedOutside(e) : layerOf(e.from) !== layerOf(e.to) && !(LAYERS[layerOf(e.to)]! < LAYERS[layerOf(e.from)]!)))
      .map((e) => `${show(e)} (${layerOf(e.from)} ${LAYERS[layerOf(e.from)]} imports ${layerOf(e.to)} ${LAYERS[layerOf(e.to)]})`);
    expect(bad).toEqual([]);
  });

  test("no cycle between folders", () => {
    expect(cycles(graphOf(all.map((e) => [layerOf(e.from), layerOf(e.to)])))).toEqual([]);
  });

  test("no cycle between files", () => {
    expect(cycles(graphOf(all.map((e) => [relative(SRC, e.from), relative(SRC, e.to)])))).toEqual([]);
  });
});
