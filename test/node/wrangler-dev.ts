/**
 * A real `wrangler dev` of the gateway (workerd) for node tests, on free ports, with its own state
 * directory, in its own process group (wrangler runs node and workerd under it). Variables go in a
 * 0600 env file, not on the command line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDevVars } from "../../tools/check/dev-vars.ts";
import { freePort } from "../../tools/shared/server.ts";

export { freePort };

const WRANGLER = "node_modules/.bin/wrangler";

export interface WranglerDev {
  readonly child: ChildProcess;
  readonly url: string;
  /** A temporary directory of this process (state, env file), removed by stop(). */
  readonly persistDir: string;
  /** Everything wrangler printed so far. */
  output(): string;
  stop(): Promise<void>;
}

function stopGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGTERM");
  } catch {
    // Already gone.
  }
}

/** Starts `wrangler dev` with `vars` and waits for "Ready on" (60 s at most). */
export async function startWranglerDev(vars: Record<string, string>): Promise<WranglerDev> {
  const port = await freePort();
  // The first port is free again once probed, so the second probe may hand it out a second time.
  let inspectorPort = await freePort();
  while (inspectorPort === port) inspectorPort = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "gateway-wrangler-dev-"));
  const envFile = join(dir, "vars.env");
  await writeFile(envFile, formatDevVars(vars), { mode: 0o600 });
  const args = [
    "dev",
    ...["--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)],
    // Its own state directory: other wrangler processes may be running in this checkout.
    ...["--persist-to", join(dir, "state"), "--env-file", envFile],
  ];
  const child = spawn(WRANGLER, args, { env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  const stop = async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    stopGroup(child);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    await rm(dir, { recursive: true, force: true });
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`wrangler dev was not ready within 60 s:\n${output}`)), 60_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      void stop().then(() => reject(error));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Ready on/.test(output.replace(/\x1b\[[0-9;]*m/g, ""))) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => fail(new Error(`wrangler dev exited with ${code} before it was ready:\n${output}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, persistDir: dir, output: () => output, stop };
}
