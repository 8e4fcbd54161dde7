/** The run's results as one value, rendered as a markdown report (printed and saved) and as JSON. */
import type { BundleSize } from "./bundle.ts";
import { RUNTIME_CPU_NOTE } from "./cpu.ts";
import type { FailoverTiming } from "./failover.ts";
import type { LockCacheRefresh, MeasureOptions, Primer } from "./measure.ts";
import { type GroupId, REFERENCES, type ScenarioId, SCENARIOS } from "./scenarios.ts";
import { GATEWAY_SETTINGS } from "./stack.ts";
import type { Summary } from "./stats.ts";
import type { TargetResult } from "./targets.ts";
import { type ProfileResult, profileLines } from "./split.ts";
import { type ScaleResult, scaleLines } from "./scale.ts";

export interface ScenarioResult {
  readonly id: ScenarioId;
  readonly title: string;
  readonly short: string;
  readonly group: GroupId;
  readonly expectedStatuses: readonly number[];
  readonly summary: Summary;
  /** This scenario's p50 and req/s divided by its group's references', from the same interleaved rounds. */
  readonly ratios: { p50VsOrigin: number; p50VsBaseline: number; rpsVsOrigin: number; rpsVsBaseline: number } | null;
}

export interface BenchReport {
  readonly mode: "full" | "smoke";
  readonly startedAt: string;
  readonly totalSeconds: number;
  /** `loadAverage`: the machine's 1-minute load average when the run started and when it ended. */
  readonly environment: { cpus: number; node: string; wrangler: string; loadAverage: { start: number; end: number } };
  readonly options: MeasureOptions;
  readonly gatewaySettings: typeof GATEWAY_SETTINGS;
  readonly scenarios: ScenarioResult[];
  readonly primers: readonly Primer[];
  readonly lockCacheRefresh: LockCacheRefresh | null;
  readonly targets: TargetResult[];
  readonly failover: FailoverTiming[];
  readonly bundles: BundleSize[];
  readonly cpuNote: string;
  /** Scenarios that did not run as they should (no answers, wrong kinds of answers). */
  readonly problems: string[];
  /** The login scenarios with the store at simulated distances. */
  readonly scale: ScaleResult | null;
  /** A failed login's CPU, step by step (Node, canned network). */
  readonly profile: ProfileResult | null;
}

/** Builds the per-scenario results with their ratios to the group's references. */
export function scenarioResults(summaries: ReadonlyMap<ScenarioId, Summary>): ScenarioResult[] {
  return SCENARIOS.filter((s) => summaries.has(s.id)).map((s) => {
    const summary = summaries.get(s.id)!;
    const references = REFERENCES[s.group];
    const origin = summaries.get(references.origin);
    const baseline = summaries.get(references.baseline);
    const isReference = s.id === references.origin || s.id === references.baseline;
    return {
      id: s.id,
      title: s.title,
      short: s.short,
      group: s.group,
      expectedStatuses: s.expectedStatuses,
      summary,
      ratios:
        isReference || !origin || !baseline
          ? null
          : {
              p50VsOrigin: summary.p50Ms / origin.p50Ms,
              p50VsBaseline: summary.p50Ms / baseline.p50Ms,
              rpsVsOrigin: summary.requestsPerSecond / origin.requestsPerSecond,
              rpsVsBaseline: summary.requestsPerSecond / baseline.requestsPerSecond,
            },
    };
  });
}

/** Problems that mean a scenario did not really run: no answers, or under 99% of the expected kind. */
export function scenarioProblems(results: readonly ScenarioResult[]): string[] {
  return results.flatMap(({ title, summary, expectedStatuses }) => {
    if (summary.responses === 0) return [`${title}: no answers`];
    const share = summary.expected / (summary.responses + summary.connectionErrors);
    if (share >= 0.99) return [];
    return [`${title}: only ${(share * 100).toFixed(1)}% of answers were ${expectedStatuses.join("/")} (statuses ${JSON.stringify(summary.statuses)}, errors ${summary.errors})`];
  });
}

const ms = (value: number) => (Number.isFinite(value) ? (value >= 100 ? value.toFixed(0) : value.toFixed(1)) : "n/a");
const times = (value: number | undefined) => (value === undefined ? "" : `${value.toFixed(2)}x`);
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

function scenarioTable(results: readonly ScenarioResult[]): string[] {
  const rows = results.map(({ title, summary: s, ratios, expectedStatuses }) =>
    [
      title,
      s.requestsPerSecond.toFixed(0),
      ms(s.p50Ms),
      ms(s.p90Ms),
      ms(s.p99Ms),
      `${s.errors}`,
      `${((s.expected / Math.max(1, s.responses)) * 100).toFixed(1)}% ${expectedStatuses.join("/")}`,
      s.storeRoundTripsPerRequest.toFixed(3),
      s.sqlRequestsPerRequest.toFixed(3),
      s.sqlStatementsPerRequest.toFixed(3),
      times(ratios?.p50VsOrigin),
      times(ratios?.p50VsBaseline),
      times(ratios?.rpsVsBaseline),
    ].join(" | "),
  );
  return [
    "| scenario | req/s | p50 ms | p90 ms | p99 ms | errors | expected answers | store round trips / req | Neon HTTP round trips / req | SQL statements / req | p50 vs (a) | p50 vs (b) | req/s vs (b) |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ...rows.map((row) => `| ${row} |`),
  ];
}

function failoverTable(timings: readonly FailoverTiming[]): string[] {
  if (timings.length === 0) return [];
  const cooldown = GATEWAY_SETTINGS.breakerCooldownSeconds;
  return [
    "",
    `### Upstash failover (CIRCUIT_BREAKER_FAILURES=${GATEWAY_SETTINGS.breakerFailures}, CIRCUIT_BREAKER_COOLDOWN=${cooldown}s, REDIS_TIMEOUT_MS=${GATEWAY_SETTINGS.redisTimeoutMs})`,
    "",
    "One client sending failed logins back to back; a request \"touches\" Upstash when the bridge counted a call during it.",
    "",
    "| Upstash fault | detected after (fault-on to the last touching answer) | failed Upstash calls | slowest answer meanwhile | back on Upstash after fault-off | last failed answer to probe (vs cooldown) | answers other than 401 |",
    "|---|--:|--:|--:|--:|--:|---|",
    ...timings.map(
      (t) =>
        `| ${t.fault} | ${ms(t.detectMs)} ms | ${t.failedTouches} | ${ms(t.slowestDuringDetectionMs)} ms | ${ms(t.returnAfterFaultOffMs)} ms | ` +
        `${ms(t.returnAfterOpenMs)} ms (${(t.returnAfterOpenMs / t.cooldownMs).toFixed(2)}x) | ${JSON.stringify(t.unexpectedAnswers)} |`,
    ),
  ];
}

function bundleLines(report: BenchReport): string[] {
  if (report.bundles.length === 0) return [];
  return [
    "",
    "### Bundle size (`wrangler deploy --dry-run`)",
    "",
    "| Worker | bundle | gzip | largest parts |",
    "|---|--:|--:|---|",
    ...report.bundles.map((b) => `| ${b.worker} | ${kib(b.bytes)} | ${kib(b.gzipBytes)} | ${b.largest.map((p) => `${p.name} ${kib(p.bytes)}`).join(", ")} |`),
  ];
}

function cpuLines(results: readonly ScenarioResult[]): string[] {
  const measured = results.filter((r) => r.summary.cpuMsPerRequest !== null);
  if (measured.length === 0) return [];
  return [
    "",
    "### CPU time per request (ms)",
    "",
    `| | ${measured.map((r) => r.short).join(" | ")} |`,
    `|---|${measured.map(() => "--:").join("|")}|`,
    `| Worker runtime (workerd) | ${measured.map((r) => r.summary.cpuMsPerRequest!.runtime.toFixed(2)).join(" | ")} |`,
    `| wrangler's tooling | ${measured.map((r) => r.summary.cpuMsPerRequest!.tooling.toFixed(2)).join(" | ")} |`,
    "",
    RUNTIME_CPU_NOTE,
  ];
}

function lockCacheLines(report: BenchReport): string[] {
  const refresh = report.lockCacheRefresh;
  const primerTrips = report.primers.reduce((total, p) => total + p.storeRoundTrips, 0);
  const lines = [
    "",
    `(f) slices are ${report.options.sliceSeconds} s, shorter than LOCKOUT_CACHE_SECONDS=${GATEWAY_SETTINGS.lockoutCacheSeconds}; each starts with one request ` +
      `from the locked client (${report.primers.length} such first requests, ${primerTrips} store round trips between them: 1 when the isolate's cached lock had expired, ` +
      `plus the background write that counts a refusal answered from the cache).`,
  ];
  if (refresh) {
    lines.push(
      `A flood that outlasts the cache (${refresh.seconds} s, ${refresh.connections} connections, ${refresh.requests} requests) cost ${refresh.storeRoundTrips} ` +
        `store round trips, background writes included: the refusals are counted at most once a second, and each write refreshes the cached lock, ` +
        `so no request of the flood waits for the store.`,
    );
  }
  return lines;
}

/** The failed login with decision logs on and off, next to the baseline: the gateway's cost apart from wrangler dev's. */
function logSplitLines(results: readonly ScenarioResult[]): string[] {
  const [on, off, baseline] = (["e", "e-quiet", "b-login"] as const).map((id) => results.find((r) => r.id === id)?.summary);
  if (!on || !off || !baseline) return [];
  const cpu = (s: typeof on) => (s.cpuMsPerRequest ? `${s.cpuMsPerRequest.runtime.toFixed(2)} ms in workerd, ${s.cpuMsPerRequest.tooling.toFixed(2)} ms in wrangler's tooling` : "CPU not measured");
  return [
    "",
    "### A failed login with decision logs on and off",
    "",
    `| | p50 | p50 vs (b) | CPU per request |`,
    `|---|--:|--:|---|`,
    `| (b) baseline Worker, failed login | ${ms(baseline.p50Ms)} ms | | ${cpu(baseline)} |`,
    `| (e) gateway, logs on (a JSON line per attempt) | ${ms(on.p50Ms)} ms | ${times(on.p50Ms / baseline.p50Ms)} | ${cpu(on)} |`,
    `| (e') gateway, logs off (the same Worker, console dropped) | ${ms(off.p50Ms)} ms | ${times(off.p50Ms / baseline.p50Ms)} | ${cpu(off)} |`,
    "",
    "The Workers run with the inspector off (bench/dev-worker.ts): a console line leaves workerd as a structured stdout line, as a deployed Worker's logs leave the isolate. " +
      "`wrangler dev` on the command line always attaches an inspector and receives every console call as a DevTools message, about 3 ms of CPU per line on this machine " +
      "(README: Benchmark): a cost of the local tooling, not of the gateway. Here (e) and (e') differ by what the gateway's own console lines cost, within the run's noise.",
  ];
}

/** The report as markdown: the table, the targets, then the failover, bundle and CPU sections. */
export function renderMarkdown(report: BenchReport): string {
  const { options } = report;
  const lines = [
    `## Benchmark results (${report.mode} run, ${report.startedAt.slice(0, 16).replace("T", " ")} UTC, ${report.totalSeconds.toFixed(0)} s)`,
    "",
    `${options.connections} connections (closed loop), ${options.rounds} rounds x ${options.sliceSeconds} s per scenario after a ${options.warmupSeconds} s warm-up, ` +
      `each round running a group's scenarios back to back in rotated order with its references (a) and (b). ${report.environment.cpus} cores ` +
      `(load average ${report.environment.loadAverage.start.toFixed(1)} at the start, ${report.environment.loadAverage.end.toFixed(1)} at the end: other work shares the machine), Node ${report.environment.node}, wrangler ${report.environment.wrangler} (its dev server, workerd, inspector off), Redis through the Upstash bridge, ` +
      "Postgres through the Neon HTTP endpoint, all on loopback. Errors = 5xx answers and connection errors; " +
      "ratios divide by the reference of the same group (same requests, same rounds).",
    "",
    ...scenarioTable(report.scenarios),
    ...lockCacheLines(report),
    "",
    "### Targets",
    "",
    ...report.targets.map((t) => `- **${t.pass ? "PASS" : "MISS"}** ${t.text}: ${t.measured}`),
    ...(report.problems.length > 0 ? ["", "### Problems", "", ...report.problems.map((p) => `- ${p}`)] : []),
    ...logSplitLines(report.scenarios),
    ...profileLines(report.profile),
    ...scaleLines(report.scale),
    ...failoverTable(report.failover),
    ...bundleLines(report),
    ...cpuLines(report.scenarios),
  ];
  return `${lines.join("\n")}\n`;
}
