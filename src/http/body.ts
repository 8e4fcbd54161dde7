/**
 * Knowing when a request body failed because the client went away. A body the gateway reads itself
 * (a login's) is read through a stream that notes a failed read before passing the error on, so the
 * error handler can log `client_aborted` instead of an internal error.
 */

/** A request whose body reads are watched, and whether one failed. */
export interface WatchedRequest {
  readonly request: Request;
  /** True once reading the body failed: the client disconnected or broke off mid-body. */
  readonly clientAborted: () => boolean;
}

/**
 * Wraps a request's body so a failed read is noted before the reader sees the error. Only for bodies
 * the gateway buffers: a wrapped stream has no known length, so fetch would forward it chunked.
 */
export function watchBody(request: Request): WatchedRequest {
  const source = request.body;
  if (source === null) return { request, clientAborted: () => false };
  let aborted = false;
  const reader = source.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          aborted = true;
          controller.error(error);
          return;
        }
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  const watched = new Request(request.url, { method: request.method, headers: request.headers, body, redirect: request.redirect });
  return { request: watched, clientAborted: () => aborted };
}
