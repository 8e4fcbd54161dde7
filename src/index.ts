/**
 * Worker entry. The configuration is parsed once per isolate, on the first request (a Worker's env
 * is only handed over with a request); a bad value answers 500 and logs which variable is wrong.
 */
import type { Hono } from "hono";
import { createGateway } from "./app";
import { ConfigError, parseConfig } from "./config";
import { logEvent } from "./http/log";

function misconfigured(error: ConfigError): Response {
  logEvent("config_error", { variable: error.variable, message: error.message }, "error");
  return new Response("The gateway is misconfigured; its log names the setting to fix.\n", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}

/** A Worker handler that builds the gateway from the first request's env and keeps it. */
export function createWorker(): ExportedHandler<Env> {
  let gateway: Hono | undefined;
  return {
    async fetch(request, env, ctx) {
      if (!gateway) {
        try {
          gateway = createGateway(parseConfig(env as unknown as Record<string, unknown>));
        } catch (error) {
          if (error instanceof ConfigError) return misconfigured(error);
          throw error;
        }
      }
      return gateway.fetch(request, env, ctx);
    },
  };
}

export default createWorker();
