/** Percentiles and per-scenario summaries of the recorded slices. */
import type { CpuMs } from "./cpu.ts";
import type { SliceResult } from "./load.ts";
import type { SqlCounts, StoreCounts } from "./stack.ts";

/** Nearest-rank percentile of ascending `sorted` values; NaN when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** One measured slice, with the store traffic and runtime CPU it caused. */
export interface Sample {
  readonly round: number;
  readonly load: SliceResult;
  readonly store: StoreCounts;
  readonly sql: SqlCounts;
  /** CPU time of the Worker's processes in the slice; null for the origin. */
  readonly cpu: CpuMs | null;
}

export interface Summary {
  readonly responses: number;
  readonly sent: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers of the kinds the scenario expects (e.g. 401 for failed logins). */
  readonly expected: number;
  /** 5xx answers and connection errors. */
  readonly errors: number;
  /** Requests that got no HTTP answer (refused, reset, timed out). */
  readonly connectionErrors: number;
  /** Answers that are neither expected nor errors (e.g. a 429 on a route that should not refuse). */
  readonly unexpected: number;
  readonly statuses: Record<number, number>;
  readonly storeRoundTripsPerRequest: number;
  readonly storeRoundTrips: number;
  readonly sqlRequestsPerRequest: number;
  readonly sqlStatementsPerRequest: number;
  /** CPU ms per request of the workerd that runs the Worker, and of wrangler dev's own processes. */
  readonly cpuMsPerRequest: CpuMs | null;
  /** p50 of each round, to show how much the rounds agree. */
  readonly p50ByRoundMs: number[];
  /** Per slice: its duration plus its slowest answer, the longest span its requests were answered over. */
  readonly sliceSpansSeconds: number[];
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

/** Pools the slices of one scenario; `isExpected` classifies a status. */
export function summarize(samples: readonly Sample[], isExpected: (status: number) => boolean): Summary {
  const latencies = samples.flatMap((sample) => sample.load.latenciesMs).sort((a, b) => a - b);
  const statuses: Record<number, number> = {};
  for (const sample of samples) {
    for (const [status, count] of Object.entries(sample.load.statuses)) statuses[Number(status)] = (statuses[Number(status)] ?? 0) + count;
  }
  const connectionErrors = sum(samples.map((sample) => sample.load.connectionErrors));
  let expected = 0;
  let serverErrors = 0;
  let unexpected = 0;
  for (const [status, count] of Object.entries(statuses)) {
    if (isExpected(Number(status))) expected += count;
    else if (Number(status) >= 500) serverErrors += count;
    else unexpected += count;
  }
  const sent = sum(samples.map((sample) => sample.load.sent));
  const seconds = sum(samples.map((sample) => sample.load.durationSeconds));
  const storeRoundTrips = sum(samples.map((sample) => sample.store.requests));
  const cpu = samples.map((sample) => sample.cpu);
  const rounds = [...new Set(samples.map((sample) => sample.round))];
  return {
    responses: latencies.length,
    sent,
    requestsPerSecond: seconds > 0 ? latencies.length / seconds : 0,
    p50Ms: percentile(latencies, 0.5),
    p90Ms: percentile(latencies, 0.9),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    expected,
    errors: serverErrors + connectionErrors,
    connectionErrors,
    unexpected,
    statuses,
    storeRoundTrips,
    storeRoundTripsPerRequest: sent > 0 ? storeRoundTrips / sent : 0,
    sqlRequestsPerRequest: sent > 0 ? sum(samples.map((sample) => sample.sql.requests)) / sent : 0,
    sqlStatementsPerRequest: sent > 0 ? sum(samples.map((sample) => sample.sql.statements)) / sent : 0,
    cpuMsPerRequest:
      cpu.length === 0 || cpu.some((value) => value === null) || sent === 0
        ? null
        : { runtime: sum(cpu.map((c) => c!.runtime)) / sent, tooling: sum(cpu.map((c) => c!.tooling)) / sent },
    sliceSpansSeconds: samples.map((sample) => sample.load.durationSeconds + sample.load.latenciesMs.reduce((slowest, ms) => Math.max(slowest, ms), 0) / 1000),
    p50ByRoundMs: rounds.map((round) =>
      percentile(samples.filter((sample) => sample.round === round).flatMap((sample) => sample.load.latenciesMs).sort((a, b) => a - b), 0.5),
    ),
  };
}
