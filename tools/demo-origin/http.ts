import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";

/** What a route handler gets for one request: the raw Node objects plus the parsed target. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path exactly as sent, before the `?`, not percent-decoded. */
  path: string;
  /** Query string exactly as sent, without the leading `?` ("" when absent). */
  rawQuery: string;
  query: URLSearchParams;
}

/** One entry of the origin's routing table; `method: "*"` answers every method. */
export interface Route {
  method: string;
  path: string | RegExp;
  /** Counts the request in `loginAttempts` and records its headers in `lastLoginHeaders`. */
  login?: boolean;
  /** Leaves the request out of `requests`, so reading the stats does not change them. */
  uncounted?: boolean;
  handle(ctx: RouteContext): void | Promise<void>;
}

/** Raised by `readBody` when a body exceeds the limit; the server answers 413. */
export class BodyTooLargeError extends Error {}

/**
 * Buffers a whole request body.
 * @default limitBytes 1 MiB
 */
export async function readBody(req: IncomingMessage, limitBytes = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limitBytes) throw new BodyTooLargeError(`request body exceeds ${limitBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Every request header with a lowercased name; repeated headers are joined as a proxy would join them. */
export function headerRecord(req: IncomingMessage): Record<string, string> {
  const headers = new Map<string, string>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? "").toLowerCase();
    const value = raw[i + 1] ?? "";
    const previous = headers.get(name);
    const separator = name === "cookie" ? "; " : ", ";
    headers.set(name, previous === undefined ? value : `${previous}${separator}${value}`);
  }
  // fromEntries defines own properties, so a header named "__proto__" stays a plain entry.
  return Object.fromEntries(headers);
}

/** The value of one cookie sent with the request, if any. */
export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Sends a complete response with a Content-Length. */
export function send(res: ServerResponse, status: number, body: string | Buffer, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Sends a UTF-8 plain-text response. */
export function sendText(res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, text, { "content-type": "text/plain; charset=utf-8", ...headers });
}

/** Sends a UTF-8 HTML page. */
export function sendHtml(res: ServerResponse, status: number, html: string, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, html, { "content-type": "text/html; charset=utf-8", ...headers });
}

/** Sends a JSON document. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, JSON.stringify(value), { "content-type": "application/json", ...headers });
}

/** Sends a 302 to `location`. */
export function redirect(res: ServerResponse, location: string, headers: OutgoingHttpHeaders = {}): void {
  sendText(res, 302, `Redirecting to ${location}`, { location, ...headers });
}

/** Waits `ms`, resolving early with `false` if the client goes away, so timers never outlive a connection. */
export function waitUnlessClosed(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off("close", onClose);
      resolve(true);
    }, ms);
    res.once("close", onClose);
  });
}
