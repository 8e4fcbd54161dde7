import { defineConfig } from "vitest/config";

/**
 * The fast, hermetic layer (`npm run test:unit`): the gateway's Hono app through `app.request` with
 * memory stores and a stub origin, in Node. It starts no service; `npm test` runs it with the rest.
 */
export default defineConfig({
  test: {
    name: "unit",
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
    // The gateway logs one JSON line per decision; show them only for failing tests.
    silent: "passed-only",
  },
});
