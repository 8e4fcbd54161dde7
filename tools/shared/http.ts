/** Request and response helpers shared by the tools that speak JSON over HTTP. */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";

/** Raised by `readCappedBody` once the whole body has arrived and was larger than the cap. */
export class BodyTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`the body exceeds ${limitBytes} bytes`);
  }
}

/**
 * Reads a whole request body, draining (not keeping) anything past `limitBytes` so a 413 can still be delivered.
 * @example const body = await readCappedBody(req, 10 * 1024 * 1024);
 */
export async function readCappedBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limitBytes) chunks.push(chunk);
  }
  if (size > limitBytes) throw new BodyTooLargeError(limitBytes);
  return Buffer.concat(chunks);
}

/** Sends `body` as JSON with a Content-Length; pass `text` when the body was already serialised to measure it. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
  text = JSON.stringify(body),
): void {
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
