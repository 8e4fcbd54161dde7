/**
 * One admin API request: bearer auth, JSON in and out, a timeout. The gateway's answer comes back as a value,
 * whatever its status; only not getting an answer (timeout, refused connection) throws.
 */
import type { Settings } from "./settings.ts";

/** What to ask the admin API, relative to its prefix. */
export interface AdminRequest {
  readonly method: "GET" | "POST";
  /** e.g. `/lockouts/status` */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
}

/** The gateway's answer: its status, the body as sent, and the body parsed when it is JSON. */
export interface AdminAnswer {
  readonly status: number;
  readonly text: string;
  /** `undefined` when the body is not JSON. */
  readonly json: unknown;
  readonly url: string;
}

/** No answer from the gateway: timed out or could not connect. The CLI prints the message and exits 1. */
export class TransportError extends Error {}

/**
 * Sends one request to `{baseUrl}{prefix}{path}` and reads the whole answer.
 * @example await adminRequest(settings, { method: "GET", path: "/lockouts" })
 */
export async function adminRequest(settings: Settings, request: AdminRequest): Promise<AdminAnswer> {
  const url = new URL(`${settings.baseUrl}${settings.prefix}${request.path}`);
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  const headers: Record<string, string> = { authorization: `Bearer ${settings.token}`, accept: "application/json" };
  if (request.body !== undefined) headers["content-type"] = "application/json";

  const where = `${request.method} ${url.origin}${url.pathname}`;
  const timeout = AbortSignal.timeout(settings.timeoutSeconds * 1000);
  try {
    const response = await fetch(url, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      redirect: "manual",
      signal: timeout,
    });
    const text = await response.text();
    return { status: response.status, text, json: parseJson(text), url: url.href };
  } catch (error) {
    if (timeout.aborted) {
      throw new TransportError(`${where}: no answer within ${settings.timeoutSeconds} s (set GATEWAY_TIMEOUT_SECONDS to wait longer)`);
    }
    throw new TransportError(`${where}: cannot reach the gateway (${reasonOf(error)}); is GATEWAY_URL / --url right?`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The low-level reason (ECONNREFUSED, ENOTFOUND, ...) that fetch hides in `cause`. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return error.message;
}

/** A listing answers at most this many pages; more means the gateway keeps handing out cursors. */
const MAX_PAGES = 100_000;

/**
 * Sends a listing request and follows its `cursor` until the gateway says the list is complete,
 * answering one body with every page's `field` entries, or stopping once it holds `maxItems` (then
 * the body keeps the cursor where it stopped). A page that is not a successful JSON listing is
 * answered as it came, so the caller reports it.
 * @example await followPages(settings, { method: "GET", path: "/lockouts" }, "lockouts")
 */
export async function followPages(settings: Settings, request: AdminRequest, field: string, maxItems = Number.POSITIVE_INFINITY): Promise<AdminAnswer> {
  const items: unknown[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await adminRequest(settings, { ...request, query: { ...request.query, cursor } });
    const body = answer.json as Record<string, unknown> | undefined;
    if (answer.status !== 200 || typeof body !== "object" || body === null || !Array.isArray(body[field])) return answer;
    items.push(...(body[field] as unknown[]));
    if (typeof body.cursor !== "string" || items.length >= maxItems) {
      const whole = { ...body, [field]: items.slice(0, maxItems), cursor: typeof body.cursor === "string" ? body.cursor : null };
      return { ...answer, text: JSON.stringify(whole), json: whole };
    }
    if (seen.has(body.cursor)) throw new TransportError(`${answer.url}: the gateway handed out the same cursor twice`);
    seen.add(body.cursor);
    cursor = body.cursor;
  }
  throw new TransportError(`${request.path}: more than ${MAX_PAGES} pages`);
}
