/**
 * `npm run neon-http` (`tsx tools/neon-http/cli.ts`): runs the Neon-compatible HTTP SQL endpoint until SIGINT or
 * SIGTERM. Env: NEON_HTTP_PORT (default 8077, 0 = any free port),
 * DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test).
 */
import { exitForStartupError, healthProblem, portFromEnv, runUntilSignal, UsageError } from "../shared/cli.ts";
import { startNeonHttp } from "./server.ts";

const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test";

interface CliConfig {
  port: number;
  databaseUrl: string;
  /** host:port/database of Postgres, the only part of DATABASE_URL safe to print (it may hold a password). */
  databaseAddress: string;
}

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
  return Object.freeze({ port: portFromEnv("NEON_HTTP_PORT", 8077, env), databaseUrl, databaseAddress });
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env);
  const neonHttp = await startNeonHttp(config);
  const problem = await healthProblem(`${neonHttp.url}/__neon/health`);
  if (problem !== undefined) {
    await neonHttp.close();
    console.error(`Neon HTTP endpoint not started: cannot reach Postgres at ${config.databaseAddress} (${problem})`);
    process.exit(1);
  }
  runUntilSignal("Neon HTTP endpoint", () => neonHttp.close());
  console.log(`Neon-compatible HTTP SQL endpoint on ${neonHttp.endpoint} -> postgres at ${config.databaseAddress}`);
}

main().catch((error: unknown) => exitForStartupError("Neon HTTP endpoint", error));
