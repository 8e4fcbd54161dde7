/**
 * Starts the real things the tests talk to, as the separate processes they are in use: the
 * Upstash-compatible bridge over the machine's Redis (`npm run bridge`) and the demo origin
 * (`npm run demo-origin`), each on a free port. Their addresses reach the tests (and the Worker's
 * bindings) through `provide`. Fails with a clear message when Redis is not running.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    bridgeUrl: string;
    bridgeToken: string;
    originUrl: string;
    redisUrl: string;
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

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const token = randomBytes(24).toString("base64url");
  const [bridge, origin] = await Promise.all([
    startTool("tools/bridge/cli.ts", { BRIDGE_TOKEN: token, BRIDGE_PORT: "0", REDIS_URL: redisUrl }, "the Upstash bridge"),
    startTool("tools/demo-origin/cli.ts", { DEMO_ORIGIN_PORT: "0" }, "the demo origin"),
  ]);
  project.provide("bridgeUrl", bridge.url);
  project.provide("bridgeToken", token);
  project.provide("originUrl", origin.url);
  project.provide("redisUrl", redisUrl);
  return async () => {
    for (const { child } of [bridge, origin]) {
      child.removeAllListeners("exit");
      child.kill("SIGTERM");
    }
  };
}
