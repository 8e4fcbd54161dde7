/**
 * `npm run bench [-- --smoke]`: starts the local stack (demo origin, Upstash bridges over Redis, the Neon
 * HTTP endpoint over Postgres, the baseline Worker and the gateways under wrangler's dev server, inspector off), drives load with
 * autocannon through scenarios (a)-(g) of issue 6, times the Upstash failover, measures the bundle, and
 * reports: a markdown table (printed, and saved to bench/results/latest.md), latest.json and latest.svg.
 *
 * --smoke: about 1-2 s per scenario, to check that every scenario runs, gets the expected kinds of
 * answers and stays within the round-trip targets; exits non-zero otherwise. Writes to a temp directory,
 * never over bench/results. A full run reports MISSes without failing; only a scenario that does not
 * run makes it exit non-zero.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { createRequire } from "node:module";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { measureBundle } from "./bundle.ts";
import { RUNTIME_CPU_NOTE } from "./cpu.ts";
import { type FailoverTiming, measureFailover } from "./failover.ts";
import { lockClient, type MeasureOptions, measureLockCacheRefresh, runGroup } from "./measure.ts";
import { killAllNow, stopAll } from "./processes.ts";
import { type BenchReport, renderMarkdown, scenarioProblems, scenarioResults } from "./report.ts";
import { type ScenarioId, SCENARIOS } from "./scenarios.ts";
import { GATEWAY_SETTINGS, removeRunData, type Stack, startStack } from "./stack.ts";
import { type Summary, summarize } from "./stats.ts";
import { renderLatencySvg } from "./svg.ts";
import { profileFailedLogin } from "./split.ts";
import { simulateScale } from "./scale.ts";
import { judgeTargets, SESSION_LOGIN_ON_PATH } from "./targets.ts";
import { REPO_ROOT } from "./wrangler.ts";

if (Number(process.versions.node.split(".")[0]) < 22) {
  console.error(`The benchmark runs wrangler, which needs Node 22 (this is ${process.version}): use \`npm run bench\`, which runs the project's own Node.`);
  process.exit(2);
}

const smoke = process.argv.includes("--smoke");
const unknown = process.argv.slice(2).filter((arg) => arg !== "--smoke");
if (unknown.length > 0) {
  console.error(`Unknown argument ${unknown[0]}. Usage: npm run bench [-- --smoke]`);
  process.exit(2);
}

const OPTIONS: MeasureOptions = smoke
  ? { connections: 10, rounds: 1, sliceSeconds: 1.5, warmupSeconds: 0.5 }
  : { connections: 10, rounds: 4, sliceSeconds: 2.5, warmupSeconds: 1 };

/**
 * The simulated store distances: a nearby and a far region in a full run; in smoke mode the two ends
 * only, enough to read the round trips each request kind waits for off the slope.
 */
const SCALE = {
  distancesMs: smoke ? [5, 105] : [5, 25, 75, 150],
  connections: 2,
  sliceSeconds: smoke ? 1.5 : 3,
  sessionLoginOnPath: SESSION_LOGIN_ON_PATH,
};

const started = Date.now();
const loadAtStart = loadavg()[0]!;
const log = (line: string) => console.log(line);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;

let stopping = false;
/** The running stack, whose keys are deleted on the way out, also after a signal. */
let activeStack: Stack | undefined;

/** Stops the children first (no more writes), then deletes this run's counters from Redis and Postgres. */
async function tearDown(): Promise<void> {
  await stopAll();
  const stack = activeStack;
  activeStack = undefined;
  if (stack) await removeRunData(stack).catch((error: unknown) => console.error(`cleanup of bench keys failed: ${String(error)}`));
}

async function shutdown(code: number): Promise<never> {
  stopping = true;
  await tearDown();
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(130));
process.on("SIGTERM", () => void shutdown(143));
process.on("exit", killAllNow);

async function writeResults(report: BenchReport, markdown: string): Promise<string> {
  const dir = smoke ? await mkdtemp(join(tmpdir(), "bench-smoke-")) : join(REPO_ROOT, "bench", "results");
  await mkdir(dir, { recursive: true });
  const caption = `${report.mode} run ${report.startedAt.slice(0, 10)}: ${OPTIONS.connections} connections, ${OPTIONS.rounds} x ${OPTIONS.sliceSeconds} s per scenario, wrangler's dev server on ${report.environment.cpus} cores`;
  await Promise.all([
    writeFile(join(dir, "latest.md"), markdown),
    writeFile(join(dir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`),
    writeFile(join(dir, "latest.svg"), renderLatencySvg(report.scenarios, caption)),
  ]);
  return dir;
}

async function main(): Promise<number> {
  log(`Benchmark (${smoke ? "smoke" : "full"} mode): starting the local stack`);
  const bundlesPending = Promise.all([measureBundle("gateway"), measureBundle("baseline (bench/baseline)", "bench/baseline/wrangler.toml")]);
  bundlesPending.catch(() => {});
  try {
    const stack = await startStack(log);
    activeStack = stack;
    const bundles = await bundlesPending;
    log(`[${elapsed()}] (a)-(d): ordinary and rate-limited routes`);
    const plain = await runGroup(stack, SCENARIOS.filter((s) => s.group === "plain"), OPTIONS, log);

    log(`[${elapsed()}] Upstash failover timings`);
    const failover: FailoverTiming[] = [await measureFailover(stack, { mode: "error", status: 500 })];
    if (!smoke) failover.push(await measureFailover(stack, { mode: "delay", ms: 1500 }));

    log(`[${elapsed()}] (a), (b), (e)-(g): failed logins, a locked-out flood, Upstash down`);
    // The failover timings end at the first request that reaches Upstash again, which may be a probe
    // that still fails (it left during the fault); the lock below must be counted in one store.
    await sleep(GATEWAY_SETTINGS.breakerCooldownSeconds * 1000 + 1000);
    await lockClient(stack);
    const login = await runGroup(stack, SCENARIOS.filter((s) => s.group === "login"), OPTIONS, log);
    const lockCacheRefresh = smoke ? null : await measureLockCacheRefresh(stack, OPTIONS.connections);

    log(`[${elapsed()}] The cost at world scale: the store ${SCALE.distancesMs.join(", ")} ms away`);
    const scale = await simulateScale(stack, SCALE, log);

    log(`[${elapsed()}] Where a failed login's CPU goes (bench/profile.ts)`);
    const profile = await profileFailedLogin(smoke ? 500 : 3000);

    const summaries = new Map<ScenarioId, Summary>();
    for (const scenario of SCENARIOS) {
      const samples = plain.samples.get(scenario.id) ?? login.samples.get(scenario.id) ?? [];
      summaries.set(scenario.id, summarize(samples, (status) => scenario.expectedStatuses.includes(status)));
    }
    const scenarios = scenarioResults(summaries);
    const report: BenchReport = {
      mode: smoke ? "smoke" : "full",
      startedAt: new Date(started).toISOString(),
      totalSeconds: (Date.now() - started) / 1000,
      environment: {
        cpus: availableParallelism(),
        loadAverage: { start: loadAtStart, end: loadavg()[0]! },
        node: process.version,
        wrangler: (createRequire(import.meta.url)("wrangler/package.json") as { version: string }).version,
      },
      options: OPTIONS,
      gatewaySettings: GATEWAY_SETTINGS,
      scenarios,
      primers: login.primers,
      lockCacheRefresh,
      targets: judgeTargets(summaries, login.primers, scale),
      scale,
      profile,
      failover,
      bundles,
      cpuNote: RUNTIME_CPU_NOTE,
      problems: scenarioProblems(scenarios),
    };
    const markdown = renderMarkdown(report);
    log(`\n${markdown}`);
    log(`Results written to ${await writeResults(report, markdown)}/latest.{md,json,svg}`);

    const roundTripMisses = report.targets.filter((t) => t.kind === "round-trips" && !t.pass);
    if (report.problems.length > 0) {
      console.error(`${report.problems.length} scenario(s) did not run as expected.`);
      return 1;
    }
    if (smoke && roundTripMisses.length > 0) {
      console.error(`Smoke: ${roundTripMisses.length} round-trip target(s) missed.`);
      return 1;
    }
    log(`Benchmark done in ${elapsed()}.`);
    return 0;
  } finally {
    if (!stopping) await tearDown();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (stopping) return;
    console.error(`Benchmark failed: ${error instanceof Error ? error.message : String(error)}`);
    void shutdown(1);
  },
);
