import { randomUUID } from "node:crypto";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { silenceOutboundConnectionTraces } from "./test/setup/workerd-noise.ts";

silenceOutboundConnectionTraces();

/**
 * Layers, as in the house style:
 * - `unit` (vitest.unit.config.ts): the gateway's app through `app.request`, memory stores, a stub
 *   origin; starts nothing, runs in seconds.
 * - `node`: tools that run in Node (the Upstash bridge, the demo origin) driven by the real clients.
 * - `worker`: the gateway itself inside workerd, against the real Redis (through the bridge) and
 *   real origin processes (the demo origin, and a real Django for the differential tests), all
 *   started by `test/setup/global.ts`.
 */
export default defineConfig({
  test: {
    // The gateway logs one JSON line per decision; show them only for failing tests.
    silent: "passed-only",
    projects: [
      // The fast, hermetic layer: app.request with memory stores and a stub origin (npm run test:unit).
      "./vitest.unit.config.ts",
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/setup/global.ts"],
          testTimeout: 20_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ENVIRONMENT: "test",
                // The Worker entry's own key prefix, under this run's (the shared Redis and Postgres hold
                // the default `axes`); test/worker/helpers.ts derives every gateway's prefix from TEST_KEY_PREFIX.
                CACHE_KEY_PREFIX: `${inject<string>("keyPrefix")}-entry-${randomUUID().slice(0, 8)}`,
                TEST_KEY_PREFIX: inject<string>("keyPrefix"),
                // wrangler.toml's 1 s (Upstash) and 2 s (Postgres) are margins a loaded 2-core machine can
                // cross, and a healthy call that times out becomes a 503 or a failover no test asked for.
                // Tests of timeouts and failover set their own.
                REDIS_TIMEOUT_MS: "10000",
                DATABASE_TIMEOUT_MS: "10000",
                ORIGIN_URL: inject<string>("originUrl"),
                UPSTASH_REDIS_REST_URL: inject<string>("bridgeUrl"),
                UPSTASH_REDIS_REST_TOKEN: inject<string>("bridgeToken"),
                DATABASE_URL: inject<string>("databaseUrl"),
                NEON_HTTP_ENDPOINT: `${inject<string>("neonHttpUrl")}/sql`,
                TEST_BRIDGE_URL: inject<string>("bridgeUrl"),
                TEST_BRIDGE_TOKEN: inject<string>("bridgeToken"),
                TEST_ORIGIN_URL: inject<string>("originUrl"),
                TEST_DATABASE_URL: inject<string>("databaseUrl"),
                TEST_NEON_HTTP_URL: inject<string>("neonHttpUrl"),
                TEST_DJANGO_URL: inject<string>("djangoUrl"),
                TEST_COMPANION_URL: inject<string>("companionUrl"),
              },
            },
          })),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/setup/global.ts"],
          testTimeout: 20_000,
          // Round trips are counted at one shared bridge: files run one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
