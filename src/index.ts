/**
 * Worker entry. The configuration is parsed once per isolate, on the first event (a Worker's env is
 * only handed over with one).
 *
 * A broken configuration logs one `config_error` line per isolate naming every bad variable. When
 * ORIGIN_URL itself parsed, the gateway keeps the site up: requests that may be logins (and the admin
 * prefix) get 503, everything else is proxied without protection (src/passthrough/degraded.ts).
 * When the origin is unknown, every request gets 500. AXES_ENABLED=false proxies everything.
 */
import { type GatewayApp, createGateway } from "./app";
import { ConfigError, parseConfig, parseOrigin } from "./settings";
import { withAliases } from "./config/aliases";
import { checkConfig } from "./settings/check";
import { logEvent, recordDecisionsIn } from "./http/log";
import { type HistorySweep, runMaintenance } from "./maintenance";
import { createPassthrough } from "./passthrough";
import { degradedRefusal } from "./passthrough/degraded";
import type { MaintenanceTargets } from "./store";
import { createStores } from "./wiring";

interface Runtime {
  readonly app: Pick<GatewayApp, "fetch">;
  /** What the cron sweeps and copies back; null when nothing is counted. */
  readonly maintenance: MaintenanceTargets | null;
  /** The attempt history the cron trims, when one is kept. */
  readonly history?: HistorySweep | null;
}

const misconfigured: Runtime["app"] = {
  fetch: () =>
    new Response("The gateway is misconfigured; its log names the setting to fix.\n", {
      status: 500,
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    }),
};

/** The runtime for a configuration that did not parse, after logging every problem once. */
function degraded(env: Record<string, unknown>): Runtime {
  const { problems } = checkConfig(env);
  let origin: ReturnType<typeof parseOrigin> | null = null;
  try {
    origin = parseOrigin(withAliases(env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
  }
  logEvent(
    "config_error",
    {
      variables: problems.map((problem) => problem.variable).join(","),
      message: problems.map((problem) => problem.message).join("; "),
      serving: origin ? "proxy_without_protection_logins_503" : "500_everywhere",
    },
    "error",
  );
  return { app: origin ? createPassthrough(origin, degradedRefusal(env)) : misconfigured, maintenance: null };
}

function runtimeFor(env: Env): Runtime {
  const raw = env as unknown as Record<string, unknown>;
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return degraded(raw);
    throw error;
  }
  if (!config.enabled) {
    logEvent("axes_disabled", { message: "AXES_ENABLED=false: nothing is counted and every request is proxied" }, "warn");
    return { app: createPassthrough(config.origin), maintenance: null };
  }
  recordDecisionsIn(env.ANALYTICS ?? null);
  const stores = createStores(config);
  // The history is trimmed even when AXES_HISTORY was just turned off, so old rows still age out.
  const history = { prefix: config.keyPrefix, retentionSeconds: config.history.retentionSeconds };
  return { app: createGateway(config, stores), maintenance: stores.maintenance, history };
}

/** A Worker handler that builds the gateway from the first event's env and keeps it. */
export function createWorker(): ExportedHandler<Env> {
  let runtime: Runtime | undefined;
  const build = (env: Env): Runtime => (runtime ??= runtimeFor(env));
  return {
    async fetch(request, env, ctx) {
      return build(env).app.fetch(request, env, ctx);
    },
    async scheduled(_controller, env) {
      const { maintenance, history } = build(env);
      if (maintenance) await runMaintenance(maintenance, { history: history ?? null });
    },
  };
}

export default createWorker();
