/**
 * Where a failed login's CPU goes, step by step (issue 16): each step of the gateway's path runs alone,
 * thousands of times, with the network replaced by canned answers (the store's reply, the origin's 401),
 * so what is measured is CPU on V8, in Node: the engine workerd runs, without wrangler dev or the
 * machine's other work in the figures. workerd's own timers do not advance during computation
 * (a Spectre mitigation), so the split cannot be taken inside the Worker. The whole request through
 * the gateway app is measured the same way, for the sum, and the baseline Worker's for comparison.
 * Prints the result as one JSON line (bench/split.ts reads it).
 */
import { cpuUsage } from "node:process";
import { createGateway } from "../../src/app.ts";
import { parseAddress } from "../../src/client/address.ts";
import { parseConfig } from "../../src/settings/index.ts";
import { logEvent, maskUsername } from "../../src/http/log.ts";
import { canonicalPath } from "../../src/http/path.ts";
import { lockoutKeysFor, normaliseUsername } from "../../src/lockout/keys.ts";
import { canonicalUsername } from "../../src/lockout/username.ts";
import { bodyCredentials, readLoginBody } from "../../src/login/body/index.ts";
import { loginOutcome } from "../../src/login/outcome.ts";
import { forwardToOrigin } from "../../src/proxy/index.ts";
import { createStores } from "../../src/wiring.ts";
import { UpstashStore, createUpstashClient } from "../../src/store/upstash/index.ts";
import baseline from "../baseline/src/index.ts";
import type { ProfileResult, ProfileStep } from "../split.ts";

const ORIGIN = "http://origin.invalid";
const UPSTASH = "http://upstash.invalid";
const LOGIN_ROUTE = { path: "/api/login/", body: ["json"], success: [200], failure: [401] } as const;

/**
 * A fixed Upstash reply by the script's argument count: the gateway's reservation (7 arguments):
 * reserved, 1 in flight; its confirmed failure (4): counts 1; anything else (@upstash/ratelimit's
 * fixed window in the baseline): [count, limit].
 */
function cannedResult(command: unknown[]): unknown {
  const args = command.length - 3 - Number(command[2]);
  return args === 7 ? [0, -1, 1, 0, 0] : args === 4 ? [1, 1] : [1, 1_000_000];
}

/** The network, answered locally: Upstash scripts get a fixed reply by their argument count, the origin a 401. */
async function cannedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const request = input instanceof Request ? input : new Request(input, init);
  if (request.url.startsWith(UPSTASH)) {
    const body = (await request.json()) as unknown[];
    if (new URL(request.url).pathname === "/pipeline") return Response.json((body as unknown[][]).map((command) => ({ result: cannedResult(command) })));
    return Response.json({ result: cannedResult(body) });
  }
  return Response.json({ ok: false, error: "invalid credentials" }, { status: 401 });
}

const loginRequest = (i: number) =>
  new Request("https://gateway.test/api/login/", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", "cf-connecting-ip": `10.1.${(i >> 8) & 255}.${i & 255}`, "user-agent": "bench" },
    body: JSON.stringify({ username: `bench-user-${i}`, password: "wrong-password" }),
  });

/** CPU microseconds per call of `step`, after a warm-up. */
async function cpuPerCall(iterations: number, step: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(500, iterations); i++) await step(i);
  const before = cpuUsage();
  for (let i = 0; i < iterations; i++) await step(i);
  const used = cpuUsage(before);
  return (used.user + used.system) / iterations;
}

export async function profileFailedLogin(iterations = 3000): Promise<ProfileResult> {
  const realFetch = globalThis.fetch;
  const realLog = { log: console.log, info: console.info };
  globalThis.fetch = cannedFetch as typeof fetch;
  console.log = console.info = () => {};
  try {
    const env = {
      ENVIRONMENT: "development",
      ORIGIN_URL: ORIGIN,
      UPSTASH_REDIS_REST_URL: UPSTASH,
      UPSTASH_REDIS_REST_TOKEN: "profile-token",
      LOGIN_ROUTES: JSON.stringify([LOGIN_ROUTE]),
      CACHE_KEY_PREFIX: "profile",
      LOCKOUT_CACHE_SECONDS: "5",
      // Each iteration awaits its background work, so no later request could carry the confirmed failure: sent at once, not after an idle linger.
      REDIS_WRITE_LINGER_MS: "0",
    };
    const config = parseConfig(env);
    const route = config.login.routes[0]!;
    const store = new UpstashStore(createUpstashClient({ url: UPSTASH, token: "profile-token", timeoutMs: 1000 }));
    const rule = { limit: 3, ttlSeconds: 1800, lockOutAtFailure: true, countWhileLocked: true, reservationMs: 35_000, idleSeconds: 86_400 };
    const client = parseAddress("10.1.2.3")!;
    const keysOf = (i: number) => lockoutKeysFor("profile", config.lockout.parameters, { address: client, username: `bench-user-${i}`, userAgent: "bench" }, 64);
    const originAnswer = () => Response.json({ ok: false }, { status: 401 });

    const steps: ProfileStep[] = [];
    const measure = async (name: string, step: (i: number) => unknown) => steps.push({ step: name, cpuUs: await cpuPerCall(iterations, step) });

    await measure("canonical path and client address", (i) => {
      canonicalPath(new URL(`https://gateway.test/api/login/?n=${i}`).pathname);
      return parseAddress(`10.1.${(i >> 8) & 255}.${i & 255}`);
    });
    await measure("body read and parsed (JSON), username normalised", async (i) => {
      const credentials = bodyCredentials(await readLoginBody(loginRequest(i), route.body, route.usernameField, config.login.maxBodyBytes));
      if (!credentials.ok || credentials.username === null) throw new Error("unexpected body reading");
      return normaliseUsername(canonicalUsername(credentials.username), false);
    });
    await measure("counter keys (ip_address, username)", (i) => keysOf(i));
    await measure("store call, client side (@upstash/redis: EVALSHA built, answer parsed)", async (i) => store.reserve(await keysOf(i), rule, `r${i}`));
    await measure("forwarded request built, sent through hono/proxy", async (i) => {
      const response = await forwardToOrigin(loginRequest(i), config.origin, client, { body: { bytes: new TextEncoder().encode('{"username":"u","password":"p"}'), contentType: "application/json" } });
      await response.body?.cancel();
    });
    await measure("origin's answer read (outcome, header removed)", (i) => {
      const response = originAnswer();
      const verdict = loginOutcome(route, response, { username: `bench-user-${i}`, caseSensitive: false, sessionCookie: config.sessions.cookieName });
      response.headers.delete("x-login-result");
      return verdict;
    });
    await measure("decision log line (JSON built; the console write not included)", (i) =>
      logEvent("login_attempt", { request_id: `r-${i}`, ip: "10.1.2.3", username: maskUsername(`bench-user-${i}`), path: "/api/login/", outcome: "failure", failures: 1 }),
    );

    const gateway = createGateway(config, createStores(config));
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (work: Promise<unknown>) => void pending.push(work), passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    const gatewayUs = await cpuPerCall(iterations, async (i) => {
      const response = await gateway.fetch(loginRequest(i), env, ctx);
      await response.body?.cancel();
      await Promise.all(pending.splice(0));
    });
    const baselineEnv = { UPSTASH_REDIS_REST_URL: UPSTASH, UPSTASH_REDIS_REST_TOKEN: "profile-token", ORIGIN_URL: ORIGIN, RATE_LIMIT: "1000000" };
    const baselineUs = await cpuPerCall(iterations, async (i) => {
      const response = await baseline.fetch(loginRequest(i), baselineEnv, ctx);
      await response.body?.cancel();
      await Promise.all(pending.splice(0));
    });
    return { iterations, steps, gatewayUs, baselineUs };
  } finally {
    globalThis.fetch = realFetch;
    Object.assign(console, realLog);
  }
}

// Run by bench/split.ts in a process of its own (the gateway's modules type-check with the Worker's types, not the tools').
const iterations = Number(process.argv[2] ?? 3000);
process.stdout.write(`${JSON.stringify(await profileFailedLogin(iterations))}\n`);
