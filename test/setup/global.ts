/**
 * Starts the real things the tests talk to, as the separate processes they are in use: the
 * Upstash-compatible bridge over the machine's Redis (`npm run bridge`), the Neon-compatible HTTP
 * endpoint over the machine's Postgres (`npm run neon-http`) and the demo origin
 * (`npm run demo-origin`), each on a free port, then applies the migrations with `npm run setup`.
 * Their addresses reach the tests (and the Worker's bindings) through `provide`. Fails with a clear
 * message when Redis or Postgres is not running.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    bridgeUrl: string;
    bridgeToken: string;
    originUrl: string;
    redisUrl: string;
    databaseUrl: string;
    neonHttpUrl: string;
  }
}

const TSX = "node_modules/.bin/tsx";

/** Spawns a tool and resolves with the first http:// URL it prints. */
function startTool(script: string, env: Record<string, string>, name: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => fail(new Error(`${name} did not start within 20 s:\n${output}`)), 20_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(output)?.[0];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code) => fail(new Error(`${name} exited with ${code} before it was ready:\n${output}`)));
  });
}

/** Applies the migrations the way an operator does: `npm run setup -- --create-cache-table`. */
async function createCacheTable(databaseUrl: string, neonHttpUrl: string): Promise<void> {
  try {
    await promisify(execFile)(TSX, ["tools/setup.ts", "--skip-redis-test", "--create-cache-table"], {
      env: { ...process.env, DATABASE_URL: databaseUrl, NEON_HTTP_ENDPOINT: `${neonHttpUrl}/sql` },
    });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run setup failed (is Postgres running on 127.0.0.1:5432?):\n${stdout}${stderr}`);
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const databaseUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
  const token = randomBytes(24).toString("base64url");
  const tools = await Promise.all([
    startTool("tools/bridge/cli.ts", { BRIDGE_TOKEN: token, BRIDGE_PORT: "0", REDIS_URL: redisUrl }, "the Upstash bridge"),
    startTool("tools/neon-http/cli.ts", { NEON_HTTP_PORT: "0", DATABASE_URL: databaseUrl }, "the Neon HTTP endpoint"),
    startTool("tools/demo-origin/cli.ts", { DEMO_ORIGIN_PORT: "0" }, "the demo origin"),
  ]);
  const [bridge, neonHttp, origin] = tools;
  await createCacheTable(databaseUrl, neonHttp.url);
  project.provide("bridgeUrl", bridge.url);
  project.provide("bridgeToken", token);
  project.provide("originUrl", origin.url);
  project.provide("redisUrl", redisUrl);
  project.provide("databaseUrl", databaseUrl);
  project.provide("neonHttpUrl", neonHttp.url);
  return async () => {
    for (const { child } of tools) {
      child.removeAllListeners("exit");
      child.kill("SIGTERM");
    }
  };
}
