import { defineConfig } from "drizzle-kit";

/** drizzle-kit: `npx drizzle-kit generate` writes SQL into migrations/; `npm run setup -- --create-cache-table` applies them. */
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/store/postgres/schema.ts",
  out: "./migrations",
  dbCredentials: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/test" },
});
