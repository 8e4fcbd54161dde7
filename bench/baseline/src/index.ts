/**
 * The benchmark's baseline: the rate-limited proxy a user would write without the gateway, following
 * @upstash/ratelimit's Cloudflare Workers example (a fixed window keyed by the client IP, the ephemeral
 * cache kept at module scope, `pending` handed to `waitUntil`, then a plain `fetch` to the origin).
 */
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis/cloudflare";
import { Hono } from "hono";

interface Bindings {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  ORIGIN_URL: string;
  /** Requests per 60 s window per IP; the benchmark sets it high enough never to refuse. */
  RATE_LIMIT: string;
}

const cache = new Map<string, number>();
const app = new Hono<{ Bindings: Bindings }>();

app.use("*", async (c, next) => {
  const ratelimit = new Ratelimit({
    redis: Redis.fromEnv(c.env),
    limiter: Ratelimit.fixedWindow(Number(c.env.RATE_LIMIT), "60 s"),
    ephemeralCache: cache,
    prefix: "bench-baseline",
  });
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  const { success, pending } = await ratelimit.limit(ip);
  c.executionCtx.waitUntil(pending);
  if (!success) return c.text("Too Many Requests", 429);
  await next();
});

app.all("*", (c) => {
  const url = new URL(c.req.url);
  return fetch(new URL(url.pathname + url.search, c.env.ORIGIN_URL), c.req.raw);
});

export default app;
