/**
 * `npx tsx tools/import-graph.ts [--edges]`: which module under src/ imports which, which imports point
 * upward (against the layer order below) and which modules import each other (cycles). Type-only
 * imports count: a type two folders need belongs in the lower one.
 *
 * Layers, bottom to top: a module may import its own layer (inside its folder) and the layers below.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const LAYERS: readonly (readonly string[])[] = [
  ["config/read", "config/duration", "config/aliases", "crypto", "secrets.d"],
  ["client", "http"],
  ["store"],
  ["lockout", "history", "devices"],
  ["sessions"],
  ["proxy", "ratelimit"],
  ["login"],
  ["maintenance"],
  ["settings", "config"],
  // The admin API reports the whole configuration, so it sits above the aggregate.
  ["admin"],
  ["passthrough"],
  // The request pipeline's steps, each a Hono middleware over the services the wiring builds.
  ["steps"],
  ["app", "index", "wiring"],
];

const SRC = "src";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return /\.tsx?$/.test(name) ? [path] : [];
  });
}

/** src/store/upstash/index.ts -> store/upstash; src/app.ts -> app. */
function moduleName(path: string): string {
  return relative(SRC, path).replace(/\.tsx?$/, "").replace(/\/index$/, "");
}

function resolveImport(from: string, specifier: string, known: Set<string>): string | null {
  if (!specifier.startsWith(".")) return null;
  const base = normalize(join(dirname(from), specifier)).replace(/\.tsx?$/, "");
  for (const candidate of [`${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`]) {
    if (known.has(candidate)) return moduleName(candidate);
  }
  return null;
}

/** The layer of a module: the most specific entry of LAYERS that names it or a folder above it. */
function layerOf(module: string): { rank: number; unit: string } {
  let best: { rank: number; unit: string } | null = null;
  LAYERS.forEach((units, rank) => {
    for (const unit of units) {
      if ((module === unit || module.startsWith(`${unit}/`)) && (best === null || unit.length > best.unit.length)) best = { rank, unit };
    }
  });
  if (best === null) throw new Error(`${module} is in no layer: add it to LAYERS`);
  return best;
}

/** Strongly connected components with more than one module (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

const all = files(SRC);
const known = new Set(all);
const graph = new Map<string, Set<string>>();
for (const file of all) {
  const text = readFileSync(file, "utf8");
  const targets = new Set<string>();
  for (const [, specifier] of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/g)) {
    const target = resolveImport(file, specifier!, known);
    if (target !== null && target !== moduleName(file)) targets.add(target);
  }
  graph.set(moduleName(file), targets);
}

const upward: string[] = [];
const folderGraph = new Map<string, Set<string>>();
let edges = 0;
for (const [from, targets] of graph) {
  const a = layerOf(from);
  for (const to of targets) {
    edges++;
    const b = layerOf(to);
    if (a.unit !== b.unit) {
      if (!folderGraph.has(a.unit)) folderGraph.set(a.unit, new Set());
      folderGraph.get(a.unit)!.add(b.unit);
    }
    if (b.rank > a.rank) upward.push(`${from} -> ${to}   (${a.unit} below ${b.unit})`);
  }
}

if (process.argv.includes("--edges")) {
  for (const [from, targets] of [...graph].sort()) for (const to of [...targets].sort()) console.log(`${from} -> ${to}`);
  console.log();
}
const moduleCycles = cycles(graph);
const unitCycles = cycles(folderGraph);
console.log(`${graph.size} modules, ${edges} imports`);
console.log(`${upward.length} upward imports${upward.length ? ":" : ""}`);
for (const line of upward.sort()) console.log(`  ${line}`);
console.log(`${moduleCycles.length} module cycles${moduleCycles.length ? ":" : ""}`);
for (const cycle of moduleCycles) console.log(`  ${cycle.join(" <-> ")}`);
console.log(`${unitCycles.length} cycles between layer units${unitCycles.length ? ":" : ""}`);
for (const cycle of unitCycles) console.log(`  ${cycle.join(" <-> ")}`);
