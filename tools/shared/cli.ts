/**
 * What the tools' command lines have in common: reading a port from the environment, checking the backend
 * answers, reporting a failed start and shutting down on SIGINT or SIGTERM.
 */

/** Raised for a bad invocation; `exitForStartupError` prints the message alone and exits 2. */
export class UsageError extends Error {}

/**
 * Reads a TCP port from the environment variable `name`, `fallback` when it is unset or blank.
 * @example portFromEnv("BRIDGE_PORT", 8079)
 */
export function portFromEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65_535) {
    throw new UsageError(`${name} must be an integer from 0 to 65535, e.g. ${name}=${fallback} (got "${raw}")`);
  }
  return port;
}

/**
 * Asks a just-started tool's own health endpoint (answering `{ ok, error? }`) why its backend is unreachable.
 * @example const problem = await healthProblem(`${bridge.url}/__bridge/health`); // undefined when healthy
 */
export async function healthProblem(healthUrl: string): Promise<string | undefined> {
  const health = await fetch(healthUrl);
  if (health.ok) return undefined;
  const { error } = (await health.json()) as { error?: string };
  return error ?? "no answer";
}

/** Ends a CLI whose startup threw: exit 2 with the bare message for a UsageError, else exit 1 naming `name`. */
export function exitForStartupError(name: string, error: unknown): never {
  if (error instanceof UsageError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(`${name} failed to start:`, messageOf(error));
  process.exit(1);
}

/**
 * Closes the tool on the first SIGINT or SIGTERM and exits 0, or 1 when closing fails or a second signal comes.
 * Call it before printing that the tool is ready: whoever waits for that line may signal at once.
 */
export function runUntilSignal(name: string, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1); // A second signal means "now".
    stopping = true;
    console.log(`${name}: ${signal}, shutting down`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        // The message alone, as for a failed start: a stack trace tells someone stopping a local tool nothing useful.
        console.error(`${name}: close failed:`, messageOf(error));
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

function messageOf(error: unknown): unknown {
  return error instanceof Error ? error.message : error;
}
