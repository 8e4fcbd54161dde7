/**
 * Workers under wrangler's dev server (workerd) for the benchmark: started on free ports with their
 * vars overridden, ready once they answer HTTP, stopped with their whole process group.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { DevWorkerArgs } from "./dev-worker.ts";
import { type Child, freePort, startChild } from "./processes.ts";

/** The repository root (bench/..). */
export const REPO_ROOT = dirname(dirname(new URL(import.meta.url).pathname));

/** wrangler's own launcher; it needs the Node 22 that `npm run` puts first on PATH. */
export const WRANGLER_BIN = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");

/** Environment for every wrangler run: no metrics upload, nothing interactive. */
export const WRANGLER_ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" };

export interface WorkerOptions {
  /** A short label for messages, e.g. "gateway". */
  readonly name: string;
  /** Path of the wrangler config relative to the repository; the root `wrangler.toml` when omitted. */
  readonly config?: string;
  /** Entry module relative to the repository, instead of the config's `main`. */
  readonly script?: string;
  readonly vars: Readonly<Record<string, string>>;
  /** @default 60_000 */
  readonly readyTimeoutMs?: number;
}

export interface Worker {
  readonly name: string;
  readonly url: string;
  /** The port it answers on (its dev proxy's); the workerd that runs the Worker listens elsewhere. */
  readonly port: number;
  readonly child: Child;
  /** The process group of wrangler and everything it started (workerd, esbuild), for CPU accounting. */
  readonly processGroup: number | undefined;
}

/**
 * Starts one Worker through wrangler's dev API with the inspector off (bench/dev-worker.ts says why),
 * in a child process group of its own, for CPU accounting.
 */
export async function startWorker({ name, config, script, vars, readyTimeoutMs = 60_000 }: WorkerOptions): Promise<Worker> {
  const port = await freePort();
  const persist = await mkdtemp(join(tmpdir(), `bench-${name}-`));
  const args: DevWorkerArgs = {
    config: join(REPO_ROOT, config ?? "wrangler.toml"),
    ...(script ? { entrypoint: join(REPO_ROOT, script) } : {}),
    port,
    persist,
    vars,
  };
  const removeState = () => rm(persist, { recursive: true, force: true });
  const child = startChild(`wrangler dev API (${name})`, process.execPath, ["--import", "tsx", join(REPO_ROOT, "bench", "dev-worker.ts"), JSON.stringify(args)], { cwd: REPO_ROOT, env: WRANGLER_ENV }, removeState);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(url, child, readyTimeoutMs);
  return { name, url, port, child, processGroup: child.process.pid };
}

async function waitUntilAnswering(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited (${child.process.exitCode}):\n${child.tail()}`);
    try {
      // Any answer below 500 means the Worker itself ran (the proxy answers 503 while workerd starts).
      const answer = await fetch(`${url}/__bench/ready`, { signal: AbortSignal.timeout(2000) });
      await answer.body?.cancel();
      if (answer.status < 500) return;
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  throw new Error(`${child.name} did not answer within ${timeoutMs / 1000}s:\n${child.tail()}`);
}
