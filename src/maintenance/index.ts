/**
 * The Cron Trigger's work (schedule in wrangler.toml): delete expired rows from the Postgres cache
 * table, bounded per run, and copy recent Postgres counters into Upstash, so a lock counted on
 * Postgres by an isolate that never saw Upstash come back still reaches Upstash. Also deletes the
 * key prefix's attempt history older than AXES_HISTORY_RETENTION from `access_log` (Upstash's
 * stream is capped by the scripts that append to it).
 */
import { logEvent } from "../http/log";
import type { MaintenanceTargets } from "../store";
import { StoreError } from "../store/contract";

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

/** One cron run over what the wiring hands out (`Stores.maintenance`): nothing without Postgres. */
export async function runMaintenance({ sweep: postgres, copyBack }: MaintenanceTargets, { history = null, now = () => Date.now() }: MaintenanceOptions = {}): Promise<void> {
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
  if (copyBack !== null && copyBack.breaker.state === "closed") {
    try {
      await copyBack.copyBack(now() - COPY_BACK_WINDOW_MS, "cron");
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      logEvent("copy_back_failed", { store: error.store, reason: error.reason, trigger: "cron" }, "error");
    }
  }
}
