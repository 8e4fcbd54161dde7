/**
 * The benchmark's child processes: each one started in its own process group, so that stopping it also
 * stops what it spawned (wrangler starts workerd and esbuild), and all of them stopped on exit, error or
 * signal. Only groups this process started are ever signalled.
 */
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** A started child: its group, a tail of its output for error messages, and how to stop it. */
export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** The last lines it printed (stdout and stderr), for a failure message. */
  tail(): string;
  stop(): Promise<void>;
}

const running = new Set<Child>();
const TAIL_LINES = 40;

/**
 * Starts `command` in a new process group and remembers it until it is stopped; `afterStop` runs once
 * the group is gone (e.g. to delete its temp directory).
 */
export function startChild(name: string, command: string, args: string[], options: SpawnOptions = {}, afterStop?: () => Promise<void>): Child {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options, detached: true });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (line.trim() === "") continue;
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
    }
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const handle: Child = {
    name,
    process: child,
    tail: () => lines.join("\n"),
    stop: async () => {
      running.delete(handle);
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup(child, "SIGTERM");
        const stopped = await Promise.race([exited.then(() => true), sleep(4000).then(() => false)]);
        if (!stopped) signalGroup(child, "SIGKILL");
      }
      // workerd may outlive wrangler by a moment; the group signal reaches it too.
      signalGroup(child, "SIGKILL");
      await afterStop?.().catch(() => {});
    },
  };
  running.add(handle);
  return handle;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Stops every child still running, the last started first. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].reverse().map((child) => child.stop()));
}

/** Synchronous last resort on process exit: kill whatever is left. */
export function killAllNow(): void {
  for (const child of running) signalGroup(child.process, "SIGKILL");
  running.clear();
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
