/**
 * Worker entry. The configuration is parsed once per isolate, on the first event (a Worker's env is
 * only handed over with one); a bad value answers 500 and logs which variable is wrong.
 */
import { type GatewayApp, createGateway } from "./app";
import { ConfigError, parseConfig } from "./config";
import { logEvent, recordDecisionsIn } from "./http/log";
import { runMaintenance } from "./maintenance";
import { type CounterStore, createStores } from "./store";

interface Runtime {
  readonly app: GatewayApp;
  readonly store: CounterStore;
}

function misconfigured(error: ConfigError): Response {
  logEvent("config_error", { variable: error.variable, message: error.message }, "error");
  return new Response("The gateway is misconfigured; its log names the setting to fix.\n", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}

/** A Worker handler that builds the gateway from the first event's env and keeps it. */
export function createWorker(): ExportedHandler<Env> {
  let runtime: Runtime | undefined;
  const build = (env: Env): Runtime => {
    if (!runtime) {
      const config = parseConfig(env as unknown as Record<string, unknown>);
      recordDecisionsIn(env.ANALYTICS ?? null);
      const stores = createStores(config);
      runtime = { app: createGateway(config, stores), store: stores.store };
    }
    return runtime;
  };
  return {
    async fetch(request, env, ctx) {
      try {
        return await build(env).app.fetch(request, env, ctx);
      } catch (error) {
        if (error instanceof ConfigError) return misconfigured(error);
        throw error;
      }
    },
    async scheduled(_controller, env) {
      try {
        await runMaintenance(build(env).store);
      } catch (error) {
        if (error instanceof ConfigError) misconfigured(error);
        else throw error;
      }
    },
  };
}

export default createWorker();
