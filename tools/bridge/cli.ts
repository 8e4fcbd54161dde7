/**
 * `npm run bridge` (`tsx tools/bridge/cli.ts [--dev]`): runs the Upstash-compatible bridge until SIGINT or SIGTERM.
 * Env: BRIDGE_TOKEN (required unless --dev), BRIDGE_PORT (default 8079), BRIDGE_HOST (default 127.0.0.1),
 * REDIS_URL (default redis://127.0.0.1:6379).
 */
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

/** Raised for a bad invocation; main prints the message alone and exits 2. */
class UsageError extends Error {}

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
  return Object.freeze({ token, port: portFrom(env.BRIDGE_PORT), host, redisUrl, redisAddress });
}

function portFrom(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 8079;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65_535) {
    throw new UsageError(`BRIDGE_PORT must be an integer from 0 to 65535, e.g. BRIDGE_PORT=8079 (got "${raw}")`);
  }
  return port;
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env);
  const bridge = await startBridge(config);
  const health = await fetch(`${bridge.url}/__bridge/health`);
  if (!health.ok) {
    const { error } = (await health.json()) as { error?: string };
    await bridge.close();
    console.error(`Bridge not started: cannot reach Redis at ${config.redisAddress} (${error ?? "no answer"})`);
    process.exit(1);
  }
  console.log(`Upstash-compatible bridge on ${bridge.url} -> redis at ${config.redisAddress}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1); // A second signal means "now".
    stopping = true;
    console.log(`Bridge: ${signal}, shutting down`);
    bridge.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("Bridge: close failed:", error);
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
  console.error("Bridge failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
