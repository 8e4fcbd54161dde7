/**
 * `npm run bridge` (`tsx tools/bridge/cli.ts [--dev]`): runs the Upstash-compatible bridge until SIGINT or SIGTERM.
 * Env: BRIDGE_TOKEN (required unless --dev), BRIDGE_PORT (default 8079), BRIDGE_HOST (default 127.0.0.1),
 * REDIS_URL (default redis://127.0.0.1:6379).
 */
import { exitForStartupError, healthProblem, portFromEnv, runUntilSignal, UsageError } from "../shared/cli.ts";
import { startBridge } from "./server.ts";

/** The token `--dev` uses when BRIDGE_TOKEN is unset; public, so only for a bridge bound to loopback. */
const DEV_TOKEN = "local-dev-token";

interface CliConfig {
  token: string;
  port: number;
  host: string;
  redisUrl: string;
  /** host:port of Redis, the only part of REDIS_URL safe to print (it may hold a password). */
  redisAddress: string;
}

function parseConfig(argv: string[], env: NodeJS.ProcessEnv): Readonly<CliConfig> {
  const unknown = argv.filter((arg) => arg !== "--dev");
  if (unknown.length > 0) throw new UsageError(`Unknown argument ${unknown[0]}. Usage: tsx tools/bridge/cli.ts [--dev]`);
  const dev = argv.includes("--dev");
  const token = env.BRIDGE_TOKEN || (dev ? DEV_TOKEN : "");
  if (token === "") {
    throw new UsageError(
      "BRIDGE_TOKEN is not set: the bridge needs the bearer token clients will send as UPSTASH_REDIS_REST_TOKEN.\n" +
        "  e.g. BRIDGE_TOKEN=$(openssl rand -hex 24) npm run bridge\n" +
        `  or   npm run bridge -- --dev   (uses the fixed dev token "${DEV_TOKEN}", loopback only)`,
    );
  }
  const host = env.BRIDGE_HOST || "127.0.0.1";
  if (dev && !env.BRIDGE_TOKEN && !["127.0.0.1", "::1", "localhost"].includes(host)) {
    throw new UsageError(`--dev uses a public token, so BRIDGE_HOST must be loopback (got "${host}"); set BRIDGE_TOKEN instead`);
  }
  const redisUrl = env.REDIS_URL || "redis://127.0.0.1:6379";
  let redisAddress: string;
  try {
    const parsed = new URL(redisUrl);
    if (!/^rediss?:$/.test(parsed.protocol)) throw new TypeError();
    redisAddress = `${parsed.hostname || "127.0.0.1"}:${parsed.port || "6379"}`;
  } catch {
    // The value itself is not echoed: it may hold a password.
    throw new UsageError("REDIS_URL must be a redis:// or rediss:// URL, e.g. REDIS_URL=redis://127.0.0.1:6379");
  }
  return Object.freeze({ token, port: portFromEnv("BRIDGE_PORT", 8079, env), host, redisUrl, redisAddress });
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env);
  const bridge = await startBridge(config);
  const problem = await healthProblem(`${bridge.url}/__bridge/health`);
  if (problem !== undefined) {
    await bridge.close();
    console.error(`Bridge not started: cannot reach Redis at ${config.redisAddress} (${problem})`);
    process.exit(1);
  }
  runUntilSignal("Bridge", () => bridge.close());
  console.log(`Upstash-compatible bridge on ${bridge.url} -> redis at ${config.redisAddress}`);
}

main().catch((error: unknown) => exitForStartupError("Bridge", error));
