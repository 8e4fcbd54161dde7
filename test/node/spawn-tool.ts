import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";

/**
 * Starts one of the tools (`tools/<name>/cli.ts`) as a Node process with tsx loaded into it, rather than
 * through the `tsx` wrapper that `npm run` uses. A signal sent to the wrapper reaches the tool only via
 * tsx's relay, which SIGKILLs the tool (exit 143) unless it acknowledges within 30 ms: on a loaded machine
 * it sometimes does not. Signalled directly, the process shows the tool's own handling of SIGTERM.
 */
export function spawnTool(script: string, args: string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ["--import", "tsx", script, ...args], { env, stdio: "pipe" });
}
