/**
 * `npm run demo-origin`: runs the demo origin until SIGINT or SIGTERM.
 * Env: DEMO_ORIGIN_PORT (default 8078), DEMO_ORIGIN_LOG=1 to print one line per request.
 */
import { portFromEnv, runUntilSignal } from "../shared/cli.ts";
import { DEMO_PASSWORD, DEMO_USERNAME, startDemoOrigin } from "./server.ts";

async function main(): Promise<void> {
  const origin = await startDemoOrigin({
    port: portFromEnv("DEMO_ORIGIN_PORT", 8078),
    log: process.env.DEMO_ORIGIN_LOG === "1",
  });
  runUntilSignal("Demo origin", () => origin.close());
  console.log(`Demo origin on ${origin.url} (user ${DEMO_USERNAME} / ${DEMO_PASSWORD})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
