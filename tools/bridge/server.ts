/**
 * A local Upstash-compatible REST server over a real Redis, so the real `@upstash/redis` and
 * `@upstash/ratelimit` clients can be driven in tests and local runs without an Upstash account.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { BodyTooLargeError, readCappedBody, sendJson } from "../shared/http.ts";
import { closeServer, listen, type LocalServer } from "../shared/server.ts";
import { connectExecutor, RedisUnavailableError, type Run } from "./executor.ts";
import { type BridgeFault, parseFault } from "./fault.ts";
import { BadRequestError } from "./protocol.ts";

export type { BridgeFault } from "./fault.ts";

/** How to start a bridge; only the token is required. */
export interface BridgeOptions {
  /** Bearer token clients must present, the local stand-in for UPSTASH_REDIS_REST_TOKEN. */
  token: string;
  /** @default "redis://127.0.0.1:6379" */
  redisUrl?: string;
  /** Port to listen on; 0 picks a free one. @default 8079 */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
}

/** Counters of authenticated Upstash-protocol traffic, for measuring store round trips per gateway request. */
export interface BridgeStats {
  /** HTTP requests on the Upstash paths, including those answered by an injected fault. */
  requests: number;
  /** Redis commands sent on behalf of those requests (a pipeline of 3 counts 3). */
  commands: number;
  /** Requests per path, e.g. `{ "/": 4, "/pipeline": 1 }`. */
  byPath: Record<string, number>;
}

/** A running bridge; its `url` is what to give the SDK as `url`. */
export interface Bridge extends LocalServer<BridgeStats> {
  /** Makes later Upstash-protocol requests fail in the given way; throws TypeError for an invalid fault. */
  setFault(fault: BridgeFault): void;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const UNAUTHORIZED = { error: "Unauthorized" };

/**
 * Starts the bridge; resolves once it listens and the first Redis connection attempt has settled.
 * While Redis is unreachable the bridge still runs and answers 503, and `/__bridge/health` says so.
 * @example const bridge = await startBridge({ token: "local-dev-token", port: 0 });
 */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const { token, redisUrl = "redis://127.0.0.1:6379", port = 8079, host = "127.0.0.1" } = options;
  if (typeof token !== "string" || token === "") throw new TypeError("startBridge: token must be a non-empty string");
  if (!URL.canParse(redisUrl) || !/^rediss?:$/.test(new URL(redisUrl).protocol)) {
    throw new TypeError("startBridge: redisUrl must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379");
  }

  let stats = emptyStats();
  let fault: BridgeFault = { mode: "none" };
  const tokenDigest = sha256(token);
  const closing = new AbortController();
  const executor = await connectExecutor(redisUrl, (n) => {
    stats.commands += n;
  });
  const routes: Record<string, Run> = {
    "/": executor.single,
    "/pipeline": executor.pipeline,
    "/multi-exec": executor.multiExec,
  };

  function isAuthorized(req: IncomingMessage, url: URL): boolean {
    const header = req.headers.authorization;
    const presented = header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : url.searchParams.get("_token");
    // Comparing digests keeps the comparison constant-time even when the lengths differ.
    return presented !== null && timingSafeEqual(sha256(presented), tokenDigest);
  }

  async function serveUpstash(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!isAuthorized(req, url)) return sendJson(res, 401, UNAUTHORIZED);
    stats.requests += 1;
    stats.byPath[url.pathname] = (stats.byPath[url.pathname] ?? 0) + 1;
    const run = routes[url.pathname];
    if (run === undefined) {
      return sendJson(res, 404, { error: `ERR unknown path ${url.pathname}: the bridge serves POST /, /pipeline, /multi-exec` });
    }
    if (req.method !== "POST") return sendJson(res, 405, { error: "ERR use POST with a JSON body" });
    // The body is read before a fault applies: like a slow Upstash, a delayed command still runs after its client gave up.
    const payload = await readJson(req);
    if (await answeredByFault(req, res)) return;
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const [status, body] = await run(payload, base64);
    sendJson(res, status, body);
  }

  async function answeredByFault(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    switch (fault.mode) {
      case "none":
        return false;
      case "delay":
        await sleep(fault.ms, undefined, { signal: closing.signal });
        return false;
      case "error":
        sendJson(res, fault.status, { error: "injected fault" });
        return true;
      case "unauthorized":
        sendJson(res, 401, UNAUTHORIZED);
        return true;
      case "drop":
        req.socket.destroy();
        return true;
    }
  }

  async function serveControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = `${req.method} ${url.pathname}`;
    if (route === "GET /__bridge/health") {
      const problem = await executor.ping().then(() => undefined, (error: Error) => error.message);
      return sendJson(res, problem === undefined ? 200 : 503, problem === undefined ? { ok: true } : { ok: false, error: problem });
    }
    if (!isAuthorized(req, url)) return sendJson(res, 401, UNAUTHORIZED);
    switch (route) {
      case "GET /__bridge/stats":
        return sendJson(res, 200, structuredClone(stats));
      case "POST /__bridge/stats/reset":
        stats = emptyStats();
        return sendJson(res, 200, { ok: true });
      case "POST /__bridge/fault":
        fault = faultFrom(await readJson(req));
        return sendJson(res, 200, { ok: true, fault });
      default:
        return sendJson(res, 404, { error: `unknown bridge endpoint ${route}` });
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://bridge.invalid");
    const serve = url.pathname.startsWith("/__bridge/") ? serveControl : serveUpstash;
    serve(req, res, url).catch((error: unknown) => sendFailure(res, error));
  });
  const bound = await listen(server, port, host).catch((error: unknown) => {
    executor.close();
    throw error;
  });

  return {
    ...bound,
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = emptyStats();
    },
    setFault: (next) => {
      fault = parseFault(next);
    },
    close: async () => {
      closing.abort();
      const closed = closeServer(server);
      executor.close();
      await closed;
    },
  };
}

/** The one place that turns a failure into an HTTP answer. */
function sendFailure(res: ServerResponse, error: unknown): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  if (error instanceof BadRequestError) return sendJson(res, 400, { error: error.message });
  if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: `ERR ${error.message}` });
  if (error instanceof RedisUnavailableError) return sendJson(res, 503, { error: error.message });
  sendJson(res, 500, { error: `bridge internal error: ${error instanceof Error ? error.message : String(error)}` });
}

/** parseFault throws TypeError, right for programmatic callers; over HTTP the same message is a 400. */
function faultFrom(body: unknown): BridgeFault {
  try {
    return parseFault(body);
  } catch (error) {
    throw new BadRequestError((error as Error).message);
  }
}

/** Reads and parses a JSON body; an unparsable one is a 400 worded like Redis (`ERR ...`). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readCappedBody(req, MAX_BODY_BYTES);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new BadRequestError(`ERR the body is not valid JSON: ${(error as Error).message}`);
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function emptyStats(): BridgeStats {
  return { requests: 0, commands: 0, byPath: {} };
}
