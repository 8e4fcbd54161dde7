/**
 * `npm run setup -- [--skip-redis-test] [--create-cache-table]`: the counterpart of the seed's
 * `manage.py setup_production`. Checks Upstash with the configured credentials, applies the drizzle
 * migrations (creates the cache table) or checks they are applied, round-trips set / get / increment
 * / delete on each store through the clients the Worker uses, prints a report, and exits non-zero on
 * any failure. Never prints a secret: only hosts.
 *
 * Reads UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN, DATABASE_URL, NEON_HTTP_ENDPOINT and
 * CACHE_KEY_PREFIX from the environment, then from .dev.vars.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { neon, neonConfig } from "@neondatabase/serverless";
import { Redis } from "@upstash/redis";
import { eq, sql } from "drizzle-orm";
import { drizzle as drizzleHttp } from "drizzle-orm/neon-http";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { gatewayCache } from "../src/store/postgres/schema.ts";

const USAGE = "usage: npm run setup -- [--skip-redis-test] [--create-cache-table]";
const TIMEOUT_MS = 5000;

interface Check {
  ok: boolean;
  line: string;
}

function readDevVars(): Record<string, string> {
  if (!existsSync(".dev.vars")) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(".dev.vars", "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

/** host[:port] of a URL: the only part of a credential-bearing URL that is safe to print. */
const hostOf = (url: string) => {
  try {
    return new URL(url).host || "(no host)";
  } catch {
    return "(not a URL)";
  }
};

/** The first line of an error, with anything that looks like a URL or token cut out. */
const reason = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0]!.replace(/\w+:\/\/\S+/g, "<url>").slice(0, 200);

async function timed<T>(label: string, action: () => Promise<T>, describe: (value: T) => string = () => ""): Promise<Check & { value?: T }> {
  const started = performance.now();
  try {
    const value = await action();
    const ms = (performance.now() - started).toFixed(0);
    return { ok: true, value, line: `ok    ${label}${describe(value) ? `: ${describe(value)}` : ""} (${ms} ms)` };
  } catch (error) {
    return { ok: false, line: `FAIL  ${label}: ${reason(error)}` };
  }
}

async function checkUpstash(env: Record<string, string | undefined>, prefix: string): Promise<Check[]> {
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  if (!url || !token) {
    return [{ ok: false, line: "FAIL  Upstash: UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set (or pass --skip-redis-test)" }];
  }
  const redis = new Redis({ url, token, retry: false, signal: () => AbortSignal.timeout(TIMEOUT_MS), enableTelemetry: false, automaticDeserialization: false });
  const ping = await timed(`Upstash at ${hostOf(url)} answers PING`, () => redis.ping());
  if (!ping.ok) return [ping];
  const key = `${prefix}:setup-check:${randomUUID()}`;
  const roundTrip = await timed("Upstash set / get / increment / delete", async () => {
    await redis.set(key, "1", { ex: 60 });
    if ((await redis.get<string>(key)) !== "1") throw new Error("get did not return what set wrote");
    if ((await redis.incr(key)) !== 2) throw new Error("increment did not answer 2");
    if ((await redis.del(key)) !== 1) throw new Error("delete did not remove the key");
  });
  return [ping, roundTrip];
}

async function checkPostgres(env: Record<string, string | undefined>, createTable: boolean, prefix: string): Promise<Check[]> {
  const url = env.DATABASE_URL;
  if (!url) return [{ ok: false, line: "FAIL  Postgres: DATABASE_URL must be set" }];
  const checks: Check[] = [];

  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: TIMEOUT_MS });
  try {
    if (createTable) {
      checks.push(await timed(`Postgres at ${hostOf(url)}: migrations applied`, () => migrate(drizzlePg(pool), { migrationsFolder: "migrations" })));
    } else {
      checks.push(
        await timed(`Postgres at ${hostOf(url)}: cache table exists`, async () => {
          const { rows } = await pool.query<{ table: string | null }>("SELECT to_regclass('gateway_cache')::text AS table");
          if (!rows[0]?.table) throw new Error("gateway_cache is missing: run `npm run setup -- --create-cache-table`");
        }),
      );
    }
  } finally {
    await pool.end();
  }
  if (!checks.every((c) => c.ok)) return checks;

  // The round trip goes through the Neon HTTP driver, the way the Worker reaches the table.
  if (env.NEON_HTTP_ENDPOINT) {
    const endpoint = env.NEON_HTTP_ENDPOINT;
    neonConfig.fetchEndpoint = () => endpoint;
  }
  const db = drizzleHttp({ client: neon(url) });
  const key = `${prefix}:setup-check:${randomUUID()}`;
  checks.push(
    await timed(`Postgres set / get / increment / delete through the Neon HTTP driver${env.NEON_HTTP_ENDPOINT ? ` (${hostOf(env.NEON_HTTP_ENDPOINT)})` : ""}`, async () => {
      const expires = sql`now() + interval '1 minute'`;
      await db.insert(gatewayCache).values({ key, count: 1, value: "1", expiresAt: expires });
      const [row] = await db.select().from(gatewayCache).where(eq(gatewayCache.key, key));
      if (row?.value !== "1") throw new Error("get did not return what set wrote");
      const [incremented] = await db
        .insert(gatewayCache)
        .values({ key, count: 1, expiresAt: expires })
        .onConflictDoUpdate({ target: gatewayCache.key, set: { count: sql`${gatewayCache.count} + 1` } })
        .returning({ count: gatewayCache.count });
      if (incremented?.count !== 2) throw new Error("increment did not answer 2");
      const deleted = await db.delete(gatewayCache).where(eq(gatewayCache.key, key)).returning();
      if (deleted.length !== 1) throw new Error("delete did not remove the row");
    }),
  );
  return checks;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--skip-redis-test" && a !== "--create-cache-table");
  if (unknown.length > 0) {
    console.error(`unknown option ${unknown[0]}\n${USAGE}`);
    return 2;
  }
  const env = { ...readDevVars(), ...process.env };
  const prefix = env.CACHE_KEY_PREFIX || "axes";
  console.log("Gateway setup check");
  const checks = [
    ...(args.includes("--skip-redis-test") ? [{ ok: true, line: "skip  Upstash (--skip-redis-test)" }] : await checkUpstash(env, prefix)),
    ...(await checkPostgres(env, args.includes("--create-cache-table"), prefix)),
  ];
  for (const check of checks) console.log(`  ${check.line}`);
  const failed = checks.filter((c) => !c.ok).length;
  console.log(failed === 0 ? "All checks passed." : `${failed} check(s) failed.`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`setup failed: ${reason(error)}`);
    process.exit(1);
  },
);
