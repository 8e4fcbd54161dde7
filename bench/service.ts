/**
 * One local tool in its own process, for the benchmark (`bench/stack.ts` starts it with an IPC channel):
 * `node --import tsx bench/service.ts bridge|neon-http|origin`. A process per tool keeps their event loops
 * apart from each other and from the load generator, as separate hosts would be.
 *
 * Env: BENCH_BRIDGE_TOKEN (bridge), REDIS_URL, DATABASE_URL. Sends `{ url }` once listening and its backend
 * answers, `{ error }` otherwise; exits when the parent disconnects or on SIGTERM / SIGINT.
 */
import { startBridge } from "../tools/bridge/server.ts";
import { startDemoOrigin } from "../tools/demo-origin/server.ts";
import { startNeonHttp } from "../tools/neon-http/server.ts";

export type ServiceKind = "bridge" | "neon-http" | "origin";

/** What the service sends its parent once. */
export type ServiceMessage = { url: string } | { error: string };

interface Running {
  url: string;
  close(): Promise<void>;
  /** The tool's own health endpoint, when it has one. */
  health?: string;
}

async function start(kind: string): Promise<Running> {
  switch (kind) {
    case "bridge": {
      const token = process.env.BENCH_BRIDGE_TOKEN ?? "";
      const bridge = await startBridge({ token, port: 0, redisUrl: process.env.REDIS_URL || undefined });
      return { url: bridge.url, close: () => bridge.close(), health: `${bridge.url}/__bridge/health` };
    }
    case "neon-http": {
      const databaseUrl = process.env.DATABASE_URL || "postgresql://postgres@127.0.0.1:5432/test";
      const neonHttp = await startNeonHttp({ databaseUrl, port: 0 });
      return { url: neonHttp.url, close: () => neonHttp.close(), health: `${neonHttp.url}/__neon/health` };
    }
    case "origin": {
      const origin = await startDemoOrigin({ port: 0 });
      return { url: origin.url, close: () => origin.close() };
    }
    default:
      throw new TypeError(`unknown service "${kind}": use bridge, neon-http or origin`);
  }
}

async function main(): Promise<void> {
  const send = (message: ServiceMessage) => process.send?.(message);
  let running: Running;
  try {
    running = await start(process.argv[2] ?? "");
    if (running.health) {
      const answer = await fetch(running.health);
      if (!answer.ok) throw new Error(`its backend does not answer: ${await answer.text()}`);
    }
  } catch (error) {
    send({ error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
  const stop = () => void running.close().finally(() => process.exit(0));
  process.on("disconnect", stop);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  send({ url: running.url });
}

void main();
