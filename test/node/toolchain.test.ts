/**
 * One wrangler, one miniflare, one workerd: the tests (through @cloudflare/vitest-plugin), `npm run dev`
 * and `npm run deploy` must run the same Workers runtime. The plugin pins exact versions of wrangler and
 * miniflare; the project's own wrangler is pinned to the same ones, so npm installs a single copy of each.
 * Bumping wrangler alone would bring back a second, older runtime for the tests (and a second 150 MB binary).
 */
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

interface NpmTree {
  version?: string;
  dependencies?: Record<string, NpmTree>;
}

function json(path: string): { version: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Every installed version of `name` anywhere in the tree `npm ls` reports. */
function installedVersions(tree: NpmTree, name: string, found = new Set<string>()): Set<string> {
  for (const [dependency, child] of Object.entries(tree.dependencies ?? {})) {
    if (dependency === name && child.version !== undefined) found.add(child.version);
    installedVersions(child, name, found);
  }
  return found;
}

describe("toolchain", () => {
  it("pins the project's wrangler to the exact version @cloudflare/vitest-plugin was built with", () => {
    const plugin = json("node_modules/@cloudflare/vitest-plugin/package.json");
    const project = json("package.json");
    expect(project.devDependencies?.wrangler).toBe(plugin.dependencies?.wrangler);
    expect(json("node_modules/wrangler/package.json").dependencies?.miniflare).toBe(plugin.dependencies?.miniflare);
  });

  it("installs one copy each of wrangler, miniflare and workerd", () => {
    const ls = spawnSync("npm", ["ls", "wrangler", "miniflare", "workerd", "--all", "--json"], { encoding: "utf8" });
    const tree = JSON.parse(ls.stdout) as NpmTree;
    for (const name of ["wrangler", "miniflare", "workerd"]) {
      expect([...installedVersions(tree, name)], name).toHaveLength(1);
    }
  });
});
