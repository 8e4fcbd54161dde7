/** AXES_HISTORY*: whether and how long the attempt history is kept (see README: "Attempt history"). */
import { readDurationSeconds } from "../config/duration";
import { ConfigError, type RawEnv, readBoolean, readInteger } from "../config/read";

export interface HistorySettings {
  /** AXES_HISTORY: append every counted attempt to the history. @default true */
  readonly enabled: boolean;
  /** AXES_HISTORY_MAX: the Upstash stream's cap, per key prefix (trimmed approximately, `MAXLEN ~`). @default 10000 */
  readonly maxEntries: number;
  /** AXES_HISTORY_RETENTION: Postgres rows older than this are deleted by the cron sweep. @default 7 days */
  readonly retentionSeconds: number;
}

/** Parses the AXES_HISTORY* settings. @throws ConfigError */
export function parseHistorySettings(env: RawEnv): HistorySettings {
  const enabled = readBoolean(env, "AXES_HISTORY", true);
  const maxEntries = readInteger(env, "AXES_HISTORY_MAX", 10_000, { min: 100, max: 1_000_000, example: "10000" });
  const retentionSeconds = readDurationSeconds(env, "AXES_HISTORY_RETENTION", "7d");
  if (retentionSeconds < 3600) throw new ConfigError("AXES_HISTORY_RETENTION", "must be at least 1h (the dashboard charts the last hour)", "7d");
  return Object.freeze({ enabled, maxEntries, retentionSeconds });
}
