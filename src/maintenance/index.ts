/**
 * The Cron Trigger's work (schedule in wrangler.toml): delete expired rows from the Postgres cache
 * table, bounded per run, and copy recent Postgres counters into Upstash, so a lock counted on
 * Postgres by an isolate that never saw Upstash come back still reaches Upstash. Also deletes the
 * key prefix's attempt history older than AXES_HISTORY_RETENTION from `access_log` (Upstash's
 * stream is capped by the scripts that append to it).
 */
import { logEvent } from "../http/log";
import type { CounterStore } from "../store";
import { StoreError } from "../store/contract";
import { FailoverStore } from "../store/failover";
import { PostgresStore } from "../store/postgres";

/** How far back the cron's copy-back looks; longer than the schedule's interval. */
const COPY_BACK_WINDOW_MS = 15 * 60_000;

/** Whose attempt history the sweep trims, and how far back it keeps it. */
export interface HistorySweep {
  readonly prefix: string;
  readonly retentionSeconds: number;
}

/** What one cron run works on besides the counters. */
export interface MaintenanceOptions {
  /** The attempt history to trim, when one is kept. @default null */
  readonly history?: HistorySweep | null;
  /** @default Date.now */
  readonly now?: () => number;
}

export async function runMaintenance(store: CounterStore, { history = null, now = () => Date.now() }: MaintenanceOptions = {}): Promise<void> {
  const postgres = store instanceof FailoverStore ? store.fallback : store instanceof PostgresStore ? store : null;
  if (postgres === null) return;
  if (history !== null) {
    try {
      const rows = await postgres.sweepHistory(history.prefix, history.retentionSeconds);
      logEvent("history_swept", { store: "postgres", rows });
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      logEvent("history_sweep_failed", { store: "postgres", reason: error.reason }, "error");
    }
  }
  try {
    const swept = await postgres.sweepExpired();
    logEvent("cache_swept", { store: "postgres", rows: swept.counters, reservations: swept.reservations });
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    logEvent("cache_sweep_failed", { store: "postgres", reason: error.reason }, "error");
  }
  if (store instanceof FailoverStore && store.breaker.state === "closed") {
    try {
      await store.copyBack(now() - COPY_BACK_WINDOW_MS, "cron");
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      logEvent("copy_back_failed", { store: error.store, reason: error.reason, trigger: "cron" }, "error");
    }
  }
}
