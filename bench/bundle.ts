/**
 * The deployed Worker's size: `wrangler deploy --dry-run --outdir <tmp>` (works offline), then the
 * gzip size of the bundle (what Cloudflare's 3 MiB / 10 MiB limits count), with the largest packages
 * from esbuild's metafile.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { REPO_ROOT, WRANGLER_BIN, WRANGLER_ENV } from "./wrangler.ts";

export interface BundleSize {
  readonly worker: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Bytes each package contributes to the bundle, largest first ("(project)" = the Worker's own code). */
  readonly largest: { name: string; bytes: number }[];
}

interface Metafile {
  outputs: Record<string, { entryPoint?: string; inputs: Record<string, { bytesInOutput: number }> }>;
}

function packageOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return match ? match[1]! : "(project)";
}

/** Bundles the Worker of `config` (relative to the repository; the root wrangler.toml when omitted). */
export async function measureBundle(worker: string, config?: string): Promise<BundleSize> {
  const outdir = await mkdtemp(join(tmpdir(), "bench-bundle-"));
  try {
    const metafile = join(outdir, "meta.json");
    await promisify(execFile)(
      process.execPath,
      [WRANGLER_BIN, "deploy", "--dry-run", "--outdir", outdir, "--metafile", metafile, ...(config ? ["--config", config] : [])],
      { cwd: REPO_ROOT, env: WRANGLER_ENV, maxBuffer: 16 * 1024 * 1024 },
    );
    const code = await Promise.all(
      (await readdir(outdir)).filter((file) => /\.m?js$/.test(file)).map((file) => readFile(join(outdir, file))),
    );
    const bundle = Buffer.concat(code);
    const meta = JSON.parse(await readFile(metafile, "utf8")) as Metafile;
    const bytesByPackage = new Map<string, number>();
    for (const output of Object.values(meta.outputs)) {
      if (!output.entryPoint) continue;
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
        bytesByPackage.set(packageOf(input), (bytesByPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
      }
    }
    const largest = [...bytesByPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes).slice(0, 6);
    return { worker, bytes: bundle.length, gzipBytes: gzipSync(bundle, { level: 9 }).length, largest };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}
