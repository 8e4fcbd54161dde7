/**
 * `npm run dev`: the gateway in `wrangler dev`, in front of the bundled demo origin (or ORIGIN_URL),
 * counting in the local Redis through the Upstash bridge when Redis answers, in memory otherwise.
 *
 * When Postgres answers at DATABASE_URL, the fallback cache table is created (`npm run setup`) and
 * reached through the Neon HTTP endpoint, as the Worker reaches Neon in production.
 *
 * Environment: ORIGIN_URL (skip the demo origin), GATEWAY_PORT (8787), DEMO_ORIGIN_PORT (8078),
 * BRIDGE_PORT (8079), NEON_HTTP_PORT (8077), REDIS_URL (redis://127.0.0.1:6379), DATABASE_URL
 * (postgresql://postgres@127.0.0.1:5432/test), CACHE_KEY_PREFIX (wrangler.toml's). Credentials in .dev.vars win over the local stores;
 * values still equal to .dev.vars.example's placeholders are ignored.
 *
 * The Worker's variables reach wrangler in a 0600 temporary env file (not `--var`, which `ps` shows).
 * The gateway's JSON log lines go to stdout as they are (`npm run -s dev | jq`); everything else
 * wrangler prints goes to stderr.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { type Bridge, startBridge } from "./bridge/server.ts";
import { type DemoOrigin, startDemoOrigin } from "./demo-origin/server.ts";
import { type NeonHttpServer, startNeonHttp } from "./neon-http/server.ts";
import { formatDevVars, parseDevVars, withoutPlaceholders } from "./check/dev-vars.ts";
import { freePort } from "./shared/server.ts";

const gatewayPort = Number(process.env.GATEWAY_PORT ?? 8787);
/** Public on purpose: it only ever guards the loopback dev server, like the bridge's --dev token. */
const DEV_ADMIN_TOKEN = "local-dev-admin-token";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const databaseUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test";

/** The demo origin's JSON API and header-reporting route, on top of Django's form logins. */
const DEMO_LOGIN_ROUTES = JSON.stringify([
  { path: "/accounts/login/" },
  { path: "/admin/login/" },
  { path: "/api/login/", body: ["json"], success: [200], failure: [401] },
  { path: "/api/signin/", body: ["json", "form"], success: [204], failure: [403] },
]);

async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

const readVars = (path: string) => (existsSync(path) ? parseDevVars(readFileSync(path, "utf8")) : {});

/** .dev.vars without the values still copied from .dev.vars.example (a fake Upstash URL would make every login 503). */
const devVars = withoutPlaceholders(readVars(".dev.vars"), readVars(".dev.vars.example"));

/** Whether .dev.vars already sets a variable (the user's own database). */
const devVarsSet = (name: string): boolean => devVars.vars[name] !== undefined;

/** A gateway log line: one JSON object (wrangler may colour it). */
const jsonLine = (line: string): string | undefined => {
  const plain = line.replace(/\x1b\[[0-9;]*m/g, "").trim();
  if (!plain.startsWith("{")) return undefined;
  try {
    JSON.parse(plain);
    return plain;
  } catch {
    return undefined;
  }
};

const hostOf = (url: string, defaultPort: number) => {
  const { hostname, port } = new URL(url);
  return `${hostname}:${port || defaultPort}`;
};

/** Starts the Neon HTTP endpoint and creates the cache table; null when Postgres does not answer. */
async function startPostgres(): Promise<NeonHttpServer | null> {
  let neonHttp: NeonHttpServer;
  try {
    neonHttp = await startNeonHttp({ databaseUrl, port: Number(process.env.NEON_HTTP_PORT ?? 8077) });
  } catch {
    return null;
  }
  try {
    await promisify(execFile)("tsx", ["tools/setup.ts", "--skip-redis-test", "--create-cache-table"], {
      env: { ...process.env, DATABASE_URL: databaseUrl, NEON_HTTP_ENDPOINT: neonHttp.endpoint },
    });
    return neonHttp;
  } catch {
    await neonHttp.close();
    return null;
  }
}

async function main(): Promise<void> {
  const vars: Record<string, string> = { ENVIRONMENT: "development" };
  if (process.env.CACHE_KEY_PREFIX) vars.CACHE_KEY_PREFIX = process.env.CACHE_KEY_PREFIX;
  let storeLine: string;
  let bridge: Bridge | undefined;
  let origin: DemoOrigin | undefined;
  let neonHttp: NeonHttpServer | null = null;

  if (devVarsSet("UPSTASH_REDIS_REST_URL")) {
    storeLine = "Upstash Redis from .dev.vars";
  } else if (await redisAnswers(redisUrl)) {
    const token = randomBytes(24).toString("base64url");
    bridge = await startBridge({ token, redisUrl, port: Number(process.env.BRIDGE_PORT ?? 8079) });
    vars.UPSTASH_REDIS_REST_URL = bridge.url;
    vars.UPSTASH_REDIS_REST_TOKEN = token;
    storeLine = `Redis at ${hostOf(redisUrl, 6379)} through the local Upstash bridge on ${bridge.url}`;
  } else {
    storeLine = `in memory (no Redis answered at ${hostOf(redisUrl, 6379)}; counters vanish on restart)`;
  }

  let fallbackLine = "none (no Postgres answered; set DATABASE_URL)";
  if (devVarsSet("DATABASE_URL")) {
    fallbackLine = "Postgres from .dev.vars";
  } else if ((neonHttp = await startPostgres())) {
    vars.DATABASE_URL = databaseUrl;
    vars.NEON_HTTP_ENDPOINT = neonHttp.endpoint;
    fallbackLine = `Postgres at ${hostOf(databaseUrl, 5432)} through the local Neon HTTP endpoint on ${neonHttp.url}`;
  }

  let originLine: string;
  if (process.env.ORIGIN_URL) {
    vars.ORIGIN_URL = process.env.ORIGIN_URL;
    originLine = `${new URL(process.env.ORIGIN_URL).origin} (ORIGIN_URL)`;
  } else {
    origin = await startDemoOrigin({ port: Number(process.env.DEMO_ORIGIN_PORT ?? 8078) });
    vars.ORIGIN_URL = origin.url;
    vars.LOGIN_ROUTES = DEMO_LOGIN_ROUTES;
    originLine = `${origin.url} (bundled demo origin; user demo / demo-password)`;
  }

  // The admin API on the loopback dev server uses a fixed, documented token unless .dev.vars sets one.
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const adminPrefix = devVars.vars.ADMIN_PREFIX ?? "/__gateway";
  let adminLine = `GATEWAY_URL=${gatewayUrl} npm run gateway -- health   (ADMIN_TOKEN from .dev.vars)`;
  if (!devVarsSet("ADMIN_TOKEN")) {
    vars.ADMIN_TOKEN = DEV_ADMIN_TOKEN;
    adminLine = `GATEWAY_URL=${gatewayUrl} GATEWAY_ADMIN_TOKEN=${DEV_ADMIN_TOKEN} npm run gateway -- health   (dev-only token)`;
  }
  const placeholderLine = devVars.placeholders.length
    ? `  Ignored   .dev.vars ${devVars.placeholders.join(", ")}: still the example values of .dev.vars.example\n`
    : "";

  // .dev.vars is not read when an env file is given, so its values go into ours (and win, as before).
  const envDir = mkdtempSync(join(tmpdir(), "gateway-dev-"));
  const envFile = join(envDir, "vars.env");
  writeFileSync(envFile, formatDevVars({ ...vars, ...devVars.vars }), { mode: 0o600 });
  const inspectorPort = await freePort();
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(gatewayPort), "--inspector-port", String(inspectorPort), "--env-file", envFile];
  const wrangler = spawn("wrangler", args, { stdio: ["inherit", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });

  // Offline, wrangler cannot fetch the sample `request.cf` object; that warning is noise here.
  const noise = /Request\.cf|ENOTFOUND workers\.cloudflare\.com|at GetAddrInfoReqWrap|callbackTrampoline/;
  let announced = false;
  // Gateway log lines to stdout, plain; wrangler's own output to stderr.
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (line === "" || noise.test(line)) continue;
      const json = jsonLine(line);
      if (json !== undefined) {
        process.stdout.write(`${json}\n`);
        continue;
      }
      process.stderr.write(`${line}\n`);
      if (!announced && /Ready on/.test(line)) {
        announced = true;
        process.stderr.write(
          `\n  Gateway   ${gatewayUrl}/  (open ${gatewayUrl}/accounts/login/ in a browser)\n` +
            `  Origin    ${originLine}\n  Counters  ${storeLine}\n  Fallback  ${fallbackLine}\n` +
            `  Admin     ${adminLine}\n  Dashboard ${gatewayUrl}${adminPrefix}/  (sign in with the admin token)\n${placeholderLine}` +
            `  Logs      JSON lines on stdout: npm run -s dev | jq .\n\n`,
        );
      }
    }
  };
  wrangler.stdout.on("data", relay);
  wrangler.stderr.on("data", relay);

  const stop = async (code: number) => {
    wrangler.kill("SIGTERM");
    rmSync(envDir, { recursive: true, force: true });
    await Promise.allSettled([bridge?.close(), origin?.close(), neonHttp?.close()]);
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  wrangler.on("exit", (code) => void stop(code ?? 1));
}

main().catch((error: unknown) => {
  console.error(`npm run dev failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
