/**
 * `npm run demo-origin`: runs the demo origin until SIGINT or SIGTERM.
 * Env: DEMO_ORIGIN_PORT (default 8078), DEMO_ORIGIN_LOG=1 to print one line per request.
 */
import { DEMO_PASSWORD, DEMO_USERNAME, startDemoOrigin } from "./server.ts";

function portFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 8078;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65_535) {
    throw new Error(`DEMO_ORIGIN_PORT must be an integer from 0 to 65535, e.g. DEMO_ORIGIN_PORT=8078 (got "${raw}")`);
  }
  return port;
}

async function main(): Promise<void> {
  const origin = await startDemoOrigin({
    port: portFromEnv(process.env.DEMO_ORIGIN_PORT),
    log: process.env.DEMO_ORIGIN_LOG === "1",
  });
  console.log(`Demo origin on ${origin.url} (user ${DEMO_USERNAME} / ${DEMO_PASSWORD})`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1); // A second signal means "now".
    stopping = true;
    console.log(`Demo origin: ${signal}, shutting down`);
    origin.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("Demo origin: close failed:", error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
