/**
 * Starts the real things the tests talk to, as the separate processes they are in use: the
 * Upstash-compatible bridge over the machine's Redis (`npm run bridge`), the Neon-compatible HTTP
 * endpoint over the machine's Postgres (`npm run neon-http`), the demo origin
 * (`npm run demo-origin`) and a real Django origin (test/django-origin, Debian's python3-django),
 * each on a free port, then applies the migrations with `npm run setup`.
 * Their addresses reach the tests (and the Worker's bindings) through `provide`. Fails with a clear
 * message when Redis or Postgres is not running or Django is not installed.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { resolve } from "node:path";
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
    djangoUrl: string;
    companionUrl: string;
    /** This run's key prefix: every key the run's gateways write starts with it, never with the default `axes`. */
    keyPrefix: string;
  }
}

const TSX = "node_modules/.bin/tsx";
/** Debian's interpreter, where `apt-get install python3-django` puts Django (not a pyenv python3 on PATH). */
const DJANGO_PYTHON = process.env.DJANGO_PYTHON ?? "/usr/bin/python3";

type Tool = { child: ChildProcess; url: string };

/** Spawns a tool and resolves with the first http:// URL it prints. */
function startTool(
  script: string,
  env: Record<string, string>,
  name: string,
  { command = TSX, startSeconds = 20 }: { command?: string; startSeconds?: number } = {},
): Promise<Tool> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${startSeconds} s:\n${output}`)), startSeconds * 1000);
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
    child.on("error", (error) => fail(new Error(`${name} could not be started (${command}): ${error.message}`)));
    child.on("exit", (code) => fail(new Error(`${name} exited with ${code} before it was ready:\n${output}`)));
  });
}

/** Checks that Debian's Django is importable before starting the origin, to fail with the fix in the message. */
async function requireDjango(): Promise<void> {
  try {
    await promisify(execFile)(DJANGO_PYTHON, ["-c", "import django, allauth, rest_framework, axes"]);
  } catch (error) {
    throw new Error(
      `the Django origins need Django, django-allauth, Django REST framework and django-axes for ${DJANGO_PYTHON} ` +
        `("${(error as Error).message.split("\n")[0]}"): install them with \`apt-get update && apt-get install -y ` +
        "python3-django python3-django-allauth python3-djangorestframework python3-django-axes` (.ci/run does this), or set DJANGO_PYTHON",
    );
  }
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
  await requireDjango();
  const started = await Promise.allSettled([
    startTool("tools/bridge/cli.ts", { BRIDGE_TOKEN: token, BRIDGE_PORT: "0", REDIS_URL: redisUrl }, "the Upstash bridge"),
    startTool("tools/neon-http/cli.ts", { NEON_HTTP_PORT: "0", DATABASE_URL: databaseUrl }, "the Neon HTTP endpoint"),
    startTool("tools/demo-origin/cli.ts", { DEMO_ORIGIN_PORT: "0" }, "the demo origin"),
    // Migrating its fresh SQLite database takes a few seconds on a busy machine.
    startTool("test/django-origin/server.py", { DJANGO_ORIGIN_PORT: "0" }, "the Django origin", { command: DJANGO_PYTHON, startSeconds: 60 }),
    // The Django companion's test project (contrib/django) behind the gateway: issue 10's end-to-end tests.
    startTool(
      "test/django-origin/server.py",
      { DJANGO_ORIGIN_PORT: "0", DJANGO_SETTINGS_MODULE: "companion_settings", PYTHONPATH: resolve("contrib/django") },
      "the Django origin with the companion",
      { command: DJANGO_PYTHON, startSeconds: 60 },
    ),
  ]);
  const failed = started.find((result) => result.status === "rejected");
  const tools = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  if (failed) {
    // The ones that did start would outlive the run otherwise.
    for (const { child } of tools) {
      child.removeAllListeners("exit");
      child.kill("SIGTERM");
    }
    throw failed.reason;
  }
  const [bridge, neonHttp, origin, django, companion] = tools as [Tool, Tool, Tool, Tool, Tool];
  await createCacheTable(databaseUrl, neonHttp.url);
  project.provide("bridgeUrl", bridge.url);
  project.provide("bridgeToken", token);
  project.provide("originUrl", origin.url);
  project.provide("redisUrl", redisUrl);
  project.provide("databaseUrl", databaseUrl);
  project.provide("neonHttpUrl", neonHttp.url);
  project.provide("djangoUrl", django.url);
  project.provide("companionUrl", companion.url);
  project.provide("keyPrefix", `test-${randomBytes(6).toString("hex")}`);
  return async () => {
    for (const { child } of tools) {
      child.removeAllListeners("exit");
      child.kill("SIGTERM");
    }
  };
}
