import { createHash } from "node:crypto";
import { STATUS_CODES } from "node:http";
import { headerRecord, readBody, redirect, sendJson, sendText, waitUnlessClosed, type Route, type RouteContext } from "./http.ts";
import type { StatsRecorder } from "./stats.ts";

/** Echo buffers the body to return it; this bounds what one test can make it hold. */
const ECHO_LIMIT_BYTES = 16 * 1024 * 1024;

/** An integer query parameter within [min, max], the fallback when absent, or undefined when invalid. */
function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number | undefined {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  return /^\d+$/.test(raw) && value >= min && value <= max ? value : undefined;
}

function rejectParam({ res }: RouteContext, name: string, min: number, max: number): void {
  sendText(res, 400, `${name} must be an integer from ${min} to ${max}\n`);
}

/** Echoes the request; `?loginResult=` sets X-Login-Result on the answer, as an origin stating a login's outcome. */
async function echo({ req, res, path, query, rawQuery }: RouteContext): Promise<void> {
  const body = await readBody(req, ECHO_LIMIT_BYTES);
  const stated = query.get("loginResult");
  sendJson(res, 200, {
    method: req.method,
    path,
    query: rawQuery,
    headers: headerRecord(req),
    bodyBase64: body.toString("base64"),
    bodyLength: body.length,
  }, stated === null ? {} : { "x-login-result": stated });
}

async function slow(ctx: RouteContext): Promise<void> {
  const ms = intParam(ctx.query, "ms", 1000, 0, 60_000);
  if (ms === undefined) return rejectParam(ctx, "ms", 0, 60_000);
  if (await waitUnlessClosed(ctx.res, ms)) sendText(ctx.res, 200, "slow");
}

async function stream(ctx: RouteContext): Promise<void> {
  const chunks = intParam(ctx.query, "chunks", 5, 1, 1000);
  if (chunks === undefined) return rejectParam(ctx, "chunks", 1, 1000);
  const delayMs = intParam(ctx.query, "delayMs", 100, 0, 10_000);
  if (delayMs === undefined) return rejectParam(ctx, "delayMs", 0, 10_000);
  const { res } = ctx;
  // No Content-Length, so Node sends Transfer-Encoding: chunked and flushes each write.
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store, no-transform" });
  for (let i = 1; i <= chunks; i += 1) {
    res.write(`chunk ${i}/${chunks}\n`);
    if (i < chunks && !(await waitUnlessClosed(res, delayMs))) return;
  }
  res.end();
}

async function upload({ req, res }: RouteContext): Promise<void> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  sendJson(res, 200, { bytes, sha256: hash.digest("hex") });
}

function status({ res, path }: RouteContext): void {
  const code = Number(path.slice("/__origin/status/".length));
  if (!Number.isInteger(code) || code < 200 || code > 599) {
    sendText(res, 400, "status must be an integer from 200 to 599\n");
  } else if (code === 204 || code === 304) {
    res.writeHead(code).end();
  } else {
    sendText(res, code, `${code} ${STATUS_CODES[code] ?? "Unknown"}\n`);
  }
}

/** Test-only helpers under `/__origin/`: stats, echo, slow and streamed answers, uploads, any status. */
export function originTestRoutes(stats: StatsRecorder): Route[] {
  return [
    { method: "GET", path: "/__origin/stats", uncounted: true, handle: ({ res }) => sendJson(res, 200, stats.snapshot()) },
    {
      method: "POST",
      path: "/__origin/stats/reset",
      uncounted: true,
      handle: ({ res }) => {
        stats.reset();
        sendJson(res, 200, stats.snapshot());
      },
    },
    { method: "*", path: "/__origin/echo", handle: echo },
    { method: "GET", path: "/__origin/slow", handle: slow },
    { method: "GET", path: "/__origin/stream", handle: stream },
    { method: "POST", path: "/__origin/upload", handle: upload },
    { method: "GET", path: /^\/__origin\/status\/[^/]+$/, handle: status },
    { method: "GET", path: "/__origin/redirect", handle: ({ res }) => redirect(res, "/") },
  ];
}
