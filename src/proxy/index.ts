/**
 * Forwarding to the origin with `hono/proxy` (hop-by-hop headers stripped both ways, bodies
 * streamed). The origin learns the client from the trusted CF-Connecting-IP only: `X-Real-IP`,
 * `X-Forwarded-Proto`, `X-Forwarded-Host` and `Forwarded` from the client are replaced, and
 * `X-Forwarded-For` gets the trusted address appended (or replaced, per FORWARDED_FOR). The
 * gateway's own cookies (the trusted-device cookie) stay at the edge.
 */
import { proxy } from "hono/proxy";
import type { ClientAddress } from "../client/address";
import { cookieSpellings } from "../http/cookies";
import { logEvent } from "../http/log";

/** A body the gateway wrote itself (a login's canonical re-encoding), with its Content-Type. */
export interface ReplacementBody {
  readonly bytes: Uint8Array | null;
  readonly contentType: string | null;
}

/** Headers that describe the client's body; the runtime sets the length of a replacement body itself. */
const BODY_HEADERS = ["content-type", "content-length", "content-encoding", "transfer-encoding"];

export interface OriginSettings {
  /** Origin base URL; null = pass through to the zone's own origin (the Worker runs on a route). */
  readonly url: URL | null;
  /** Time allowed until the origin's response headers arrive. @default 30000 */
  readonly timeoutMs: number;
  /** `append` keeps the client's X-Forwarded-For chain and adds the trusted address; `replace` sends only it. */
  readonly forwardedFor: "append" | "replace";
  /**
   * The header that proves to the origin a request came through the gateway (ORIGIN_SECRET_HEADER),
   * and its value (the ORIGIN_SECRET secret; null = not sent). A client's own copy is always removed.
   */
  readonly secretHeader: string;
  readonly secret: string | null;
  /** Cookies the gateway itself owns (the trusted-device cookie): never forwarded to the origin. @default none */
  readonly gatewayCookies?: readonly string[];
}

const UNTRUSTED = ["x-real-ip", "x-forwarded-proto", "x-forwarded-host", "forwarded"];

/** Removes the gateway's own cookies (every spelling of them) from a Cookie header on its way to the origin. */
function dropGatewayCookies(headers: Headers, names: readonly string[]): void {
  let header = headers.get("cookie");
  for (const name of names) {
    if (header === null) break;
    const spellings = cookieSpellings(header, name);
    if (spellings.values.length + spellings.ambiguous > 0) header = spellings.rest;
  }
  if (header === null) headers.delete("cookie");
  else if (header !== headers.get("cookie")) headers.set("cookie", header);
}

function forwardedHeaders(request: Request, client: ClientAddress | undefined, origin: OriginSettings): Headers {
  const mode = origin.forwardedFor;
  const headers = new Headers(request.headers);
  for (const name of UNTRUSTED) headers.delete(name);
  dropGatewayCookies(headers, origin.gatewayCookies ?? []);
  headers.delete(origin.secretHeader);
  if (origin.secret !== null) headers.set(origin.secretHeader, origin.secret);
  const sent = headers.get("x-forwarded-for");
  if (client) {
    headers.set("x-forwarded-for", mode === "append" && sent ? `${sent}, ${client.text}` : client.text);
    headers.set("x-real-ip", client.text);
  } else if (mode === "replace") {
    headers.delete("x-forwarded-for");
  }
  const url = new URL(request.url);
  headers.set("x-forwarded-proto", url.protocol.slice(0, -1));
  headers.set("x-forwarded-host", url.host);
  return headers;
}

/** Where a request goes at the origin: its path and query under ORIGIN_URL. */
export function originUrlFor(requestUrl: string, origin: URL | null): string {
  const url = new URL(requestUrl);
  if (origin === null) return url.href;
  const target = new URL(origin.href);
  target.pathname = origin.pathname.replace(/\/$/, "") + url.pathname;
  target.search = url.search;
  return target.href;
}

function gatewayError(status: 502 | 504, text: string): Response {
  return new Response(`${text}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}

/** The gateway's canonical form of a login's credentials, sent in place of the client's. */
export interface CanonicalCredentials {
  readonly body?: ReplacementBody;
  readonly authorization?: string;
}

/**
 * Sends the request to the origin and returns its response, or a short 502 (unreachable) / 504 (no
 * headers within the timeout). `canonical.body` is sent instead of the client's body, with its own
 * Content-Type, and `canonical.authorization` instead of its Authorization header, when the gateway
 * read the credentials and re-encoded them.
 */
export async function forwardToOrigin(
  request: Request,
  origin: OriginSettings,
  client: ClientAddress | undefined,
  canonical: CanonicalCredentials = {},
): Promise<Response> {
  const headers = forwardedHeaders(request, client, origin);
  if (canonical.authorization !== undefined) headers.set("authorization", canonical.authorization);
  const replacement = canonical.body;
  if (replacement) {
    for (const name of BODY_HEADERS) headers.delete(name);
    if (replacement.contentType !== null) headers.set("content-type", replacement.contentType);
  }
  const timer = new AbortController();
  // The one request the gateway builds; hono/proxy copies it once more (stripping hop-by-hop headers)
  // and sends that copy as it is: the timeout's signal rides on it, so no third copy is made.
  const outgoing = new Request(request.url, {
    method: request.method,
    headers,
    // GET and HEAD never carry a body (app.ts refuses one); an empty stream some clients attach is dropped.
    body: request.method === "GET" || request.method === "HEAD" ? null : replacement ? replacement.bytes : request.body,
    redirect: "manual",
    signal: timer.signal,
  });
  const timeout = setTimeout(() => timer.abort(), origin.timeoutMs);
  try {
    return await proxy(originUrlFor(request.url, origin.url), { raw: outgoing, redirect: "manual" });
  } catch (error) {
    const timedOut = timer.signal.aborted;
    logEvent("origin_error", { reason: timedOut ? "timeout" : "unreachable", origin: origin.url?.host ?? "zone" }, "warn");
    return timedOut
      ? gatewayError(504, "Gateway Timeout: the origin did not answer in time.")
      : gatewayError(502, "Bad Gateway: the origin could not be reached.");
  } finally {
    clearTimeout(timeout);
  }
}
