/**
 * `npm run dev`: the gateway in `wrangler dev`, in front of the bundled demo origin (or ORIGIN_URL),
 * counting in the local Redis through the Upstash bridge when Redis answers, in memory otherwise.
 *
 * When Postgres answers at DATABASE_URL, the fallback cache table is created (`npm run setup`) and
 * reached through the Neon HTTP endpoint, as the Worker reaches Neon in production.
 *
 * Environment: ORIGIN_URL (skip the demo origin), GATEWAY_PORT (8787), DEMO_ORIGIN_PORT (8078),
 * BRIDGE_PORT (8079), NEON_HTTP_PORT (8077), REDIS_URL (redis://127.0.0.1:6379), DATABASE_URL
 * (postgresql://postgres@127.0.0.1:5432/test). Credentials in .dev.vars win over the local stores.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { type Bridge, startBridge } from "./bridge/server.ts";
import { type DemoOrigin, startDemoOrigin } from "./demo-origin/server.ts";
import { type NeonHttpServer, startNeonHttp } from "./neon-http/server.ts";

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

/** Whether .dev.vars already sets a variable (the user's own database). */
function devVarsSet(name: string): boolean {
  return existsSync(".dev.vars") && new RegExp(`^\\s*${name}\\s*=`, "m").test(readFileSync(".dev.vars", "utf8"));
}

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
  let adminLine = "ADMIN_TOKEN from .dev.vars";
  if (!devVarsSet("ADMIN_TOKEN")) {
    vars.ADMIN_TOKEN = DEV_ADMIN_TOKEN;
    adminLine = `GATEWAY_ADMIN_TOKEN=${DEV_ADMIN_TOKEN} npm run gateway -- health   (dev-only token)`;
  }

  const args = ["dev", "--ip", "127.0.0.1", "--port", String(gatewayPort), ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])];
  const wrangler = spawn("wrangler", args, { stdio: ["inherit", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });

  // Offline, wrangler cannot fetch the sample `request.cf` object; that warning is noise here.
  const noise = /Request\.cf|ENOTFOUND workers\.cloudflare\.com|at GetAddrInfoReqWrap|callbackTrampoline/;
  let announced = false;
  const relay = (chunk: Buffer, out: NodeJS.WriteStream) => {
    for (const line of chunk.toString().split("\n")) {
      if (line === "" || noise.test(line)) continue;
      out.write(`${line}\n`);
      if (!announced && /Ready on/.test(line)) {
        announced = true;
        out.write(
          `\n  Gateway   http://127.0.0.1:${gatewayPort}/  (open http://127.0.0.1:${gatewayPort}/accounts/login/ in a browser)\n` +
            `  Origin    ${originLine}\n  Counters  ${storeLine}\n  Fallback  ${fallbackLine}\n  Admin     ${adminLine}\n\n`,
        );
      }
    }
  };
  wrangler.stdout.on("data", (chunk: Buffer) => relay(chunk, process.stdout));
  wrangler.stderr.on("data", (chunk: Buffer) => relay(chunk, process.stderr));

  const stop = async (code: number) => {
    wrangler.kill("SIGTERM");
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
