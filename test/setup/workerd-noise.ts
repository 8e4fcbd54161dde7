/**
 * workerd logs a failed outbound connection three times over, as an "uncaught" exception, even when
 * the code that made the request catches the error: every `fetch` from the Worker under test goes
 * through Miniflare's outbound proxy worker (miniflare/dist/src/workers/core/outbound.worker.js,
 * `return fetch(request)`), and it is there, in Miniflare's own isolate, that the rejection goes
 * unhandled. The isolate under test sees an ordinary rejected fetch and no unhandled rejection (an
 * `unhandledrejection` listener there stays silent). The fault tests cause exactly this on purpose
 * (an Upstash or origin that refuses or drops the connection), so these lines are noise; the error
 * itself still reaches the code under test, which either handles it or fails the test.
 *
 * The vitest plugin prints workerd's log lines with `process.stdout.write`, one message per call,
 * and offers no option to filter them, so this drops those three messages and nothing else.
 */
const NOISE = [
  /^exception = rust\/worker\/ffi\.rs:\d+: disconnected: (Connection refused \(os error 111\)|client error \(SendRequest\))\nstack: [^\n]*\n$/,
  /^uncaught exception; source = Uncaught \(in promise\); stack = Error: Network connection lost\.\n$/,
  /^uncaught exception; exception = workerd\/jsg\/value\.h:\d+: disconnected: jsg\.Error: Network connection lost\.\nstack: [^\n]*\n$/,
];

/** Stops the main process printing workerd's traces of outbound connections refused or dropped. */
export function silenceOutboundConnectionTraces(): void {
  const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === "string" && NOISE.some((pattern) => pattern.test(chunk))) {
      const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
}
