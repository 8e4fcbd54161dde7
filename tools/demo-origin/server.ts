/**
 * A small Django-like origin for the gateway to proxy to in local dev and in tests.
 * Routes under `/__origin/` are test-only helpers; see `test-routes.ts`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, listen, type LocalServer } from "../shared/server.ts";
import { SessionStore, accountRoutes } from "./accounts.ts";
import { BodyTooLargeError, headerRecord, sendText, type Route, type RouteContext } from "./http.ts";
import { StatsRecorder, type OriginStats } from "./stats.ts";
import { originTestRoutes } from "./test-routes.ts";

export { DEMO_PASSWORD, DEMO_USERNAME } from "./credentials.ts";
export { LOGIN_ERROR_TEXT } from "./pages.ts";
export type { OriginStats } from "./stats.ts";

/** Where and how the demo origin listens. */
export interface DemoOriginOptions {
  /** Port to listen on; 0 picks a free one. @default 8078 */
  port?: number;
  /** Interface to bind. @default "127.0.0.1" */
  host?: string;
  /** Print one `METHOD path status` line per request to stdout (never bodies or credentials). @default false */
  log?: boolean;
}

/** A running demo origin; `close` stops listening and drops open connections. */
export type DemoOrigin = LocalServer<OriginStats>;

type RouteMatch = { route: Route } | { allow: string[] } | undefined;

function findRoute(routes: Route[], method: string, path: string): RouteMatch {
  const onPath = routes.filter((route) => (typeof route.path === "string" ? route.path === path : route.path.test(path)));
  // HEAD is answered by the GET handler; Node drops the body.
  const wanted = method === "HEAD" ? "GET" : method;
  const route = onPath.find((candidate) => candidate.method === wanted || candidate.method === "*");
  if (route) return { route };
  return onPath.length > 0 ? { allow: onPath.map((candidate) => candidate.method) } : undefined;
}

function contextFor(req: IncomingMessage, res: ServerResponse): RouteContext {
  // Absolute-form targets (`GET http://host/path`) are reduced to their path; everything else is kept as sent.
  const target = (req.url ?? "/").replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i, "") || "/";
  const queryAt = target.indexOf("?");
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const rawQuery = queryAt === -1 ? "" : target.slice(queryAt + 1);
  return { req, res, path, rawQuery, query: new URLSearchParams(rawQuery) };
}

async function handleRequest(routes: Route[], stats: StatsRecorder, ctx: RouteContext): Promise<void> {
  const { req, res, path } = ctx;
  const match = findRoute(routes, req.method ?? "GET", path);
  if (!(match && "route" in match && match.route.uncounted)) stats.countRequest();
  if (match === undefined) return sendText(res, 404, "Not Found\n");
  if ("allow" in match) return sendText(res, 405, "Method Not Allowed\n", { allow: match.allow.join(", ") });
  if (match.route.login) stats.recordLogin(path, headerRecord(req));
  await match.route.handle(ctx);
}

function failRequest(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
  } else if (error instanceof BodyTooLargeError) {
    sendText(res, 413, "Payload Too Large\n", { connection: "close" });
  } else {
    console.error("demo origin: request failed:", error instanceof Error ? error.message : error);
    sendText(res, 500, "Internal Server Error\n", { connection: "close" });
  }
}

/** Starts the demo origin and resolves once it is listening. */
export async function startDemoOrigin(options: DemoOriginOptions = {}): Promise<DemoOrigin> {
  const { port = 8078, host = "127.0.0.1", log = false } = options;
  const stats = new StatsRecorder();
  const routes = [...accountRoutes(new SessionStore()), ...originTestRoutes(stats)];

  const server = createServer((req, res) => {
    const ctx = contextFor(req, res);
    if (log) res.once("finish", () => console.log(`${req.method} ${ctx.path} ${res.statusCode}`));
    handleRequest(routes, stats, ctx).catch((error: unknown) => failRequest(res, error));
  });
  const bound = await listen(server, port, host);

  return {
    ...bound,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    close: () => closeServer(server),
  };
}
