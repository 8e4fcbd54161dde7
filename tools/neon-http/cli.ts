/**
 * `npm run neon-http` (`tsx tools/neon-http/cli.ts`): runs the Neon-compatible HTTP SQL endpoint until SIGINT or
 * SIGTERM. Env: NEON_HTTP_PORT (default 8077, 0 = any free port),
 * DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test).
 */
import { startNeonHttp } from "./server.ts";

const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test";

interface CliConfig {
  port: number;
  databaseUrl: string;
  /** host:port/database of Postgres, the only part of DATABASE_URL safe to print (it may hold a password). */
  databaseAddress: string;
}

/** Raised for a bad invocation; main prints the message alone and exits 2. */
class UsageError extends Error {}

function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Readonly<CliConfig> {
  if (argv.length > 0) throw new UsageError(`Unknown argument ${argv[0]}. Usage: tsx tools/neon-http/cli.ts (configured by env)`);
  const databaseUrl = env.DATABASE_URL || DEFAULT_DATABASE_URL;
  let databaseAddress: string;
  try {
    const parsed = new URL(databaseUrl);
    if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") throw new TypeError();
    databaseAddress = `${parsed.hostname || "localhost"}:${parsed.port || "5432"}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    // The value itself is not echoed: it may hold a password.
    throw new UsageError(`DATABASE_URL must be a postgres:// or postgresql:// URL, e.g. DATABASE_URL=${DEFAULT_DATABASE_URL}`);
  }
  return Object.freeze({ port: portFrom(env.NEON_HTTP_PORT), databaseUrl, databaseAddress });
}

function portFrom(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 8077;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65_535) {
    throw new UsageError(`NEON_HTTP_PORT must be an integer from 0 to 65535, e.g. NEON_HTTP_PORT=8077 (got "${raw}")`);
  }
  return port;
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env);
  const neonHttp = await startNeonHttp(config);
  const health = await fetch(`${neonHttp.url}/__neon/health`);
  if (!health.ok) {
    const { error } = (await health.json()) as { error?: string };
    await neonHttp.close();
    console.error(`Neon HTTP endpoint not started: cannot reach Postgres at ${config.databaseAddress} (${error ?? "no answer"})`);
    process.exit(1);
  }
  console.log(`Neon-compatible HTTP SQL endpoint on ${neonHttp.endpoint} -> postgres at ${config.databaseAddress}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1); // A second signal means "now".
    stopping = true;
    console.log(`Neon HTTP endpoint: ${signal}, shutting down`);
    neonHttp.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("Neon HTTP endpoint: close failed:", error instanceof Error ? error.message : error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error("Neon HTTP endpoint failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
