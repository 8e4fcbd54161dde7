/**
 * Runs a group of scenarios in interleaved rounds (each round rotates the order), so that the gateway
 * scenarios and their references share the machine's noise, and counts around every slice the store
 * round trips (both bridges), SQL statements (the Neon endpoint) and the Worker's CPU time.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type CpuMs, groupCpuMs } from "./cpu.ts";
import { type RequestPlan, runSlice, type SliceOptions } from "./load.ts";
import { failedLoginPlan, LOCKED_IP, type Scenario, type ScenarioId } from "./scenarios.ts";
import { bridgeCounts, GATEWAY_SETTINGS, type SqlCounts, type Stack, type StoreCounts, sqlCounts } from "./stack.ts";
import type { Sample } from "./stats.ts";
import type { Worker } from "./wrangler.ts";

export interface MeasureOptions {
  readonly connections: number;
  readonly rounds: number;
  readonly sliceSeconds: number;
  readonly warmupSeconds: number;
}

/** Time for in-flight requests and their background work to reach the stores before counting. */
const SETTLE_MS = 250;
/**
 * After a locked-out flood: the isolate writes the refusals it answered from its lock cache at most
 * once a second, so the last write can trail the flood by a second. Waiting for it keeps it out of
 * the next slice's count.
 */
const FLOOD_SETTLE_MS = 2000;

interface Counters {
  readonly store: StoreCounts;
  readonly sql: SqlCounts;
  readonly cpu: CpuMs | null;
}

async function readCounters(stack: Stack, worker: Worker | null): Promise<Counters> {
  const [up, down, sql] = await Promise.all([bridgeCounts(stack.bridge), bridgeCounts(stack.downBridge), sqlCounts(stack)]);
  return { store: { requests: up.requests + down.requests, commands: up.commands + down.commands }, sql, cpu: worker ? groupCpuMs(worker.processGroup, worker.port) : null };
}

function difference(before: Counters, after: Counters) {
  return {
    store: { requests: after.store.requests - before.store.requests, commands: after.store.commands - before.store.commands },
    sql: { requests: after.sql.requests - before.sql.requests, statements: after.sql.statements - before.sql.statements },
    cpu:
      before.cpu === null || after.cpu === null
        ? null
        : { runtime: after.cpu.runtime - before.cpu.runtime, tooling: after.cpu.tooling - before.cpu.tooling },
  };
}

/** Store round trips caused by `action` (run alone), e.g. one primer request. */
async function storeTripsOf(stack: Stack, action: () => Promise<void>): Promise<number> {
  const before = await readCounters(stack, null);
  await action();
  await sleep(FLOOD_SETTLE_MS);
  return difference(before, await readCounters(stack, null)).store.requests;
}

/** One failed login from the locked client; answers its status. */
async function lockedAttempt(stack: Stack): Promise<number> {
  const { headers, body } = failedLoginPlan(stack.runId, LOCKED_IP).next();
  const answer = await fetch(`${stack.gateway.url}/api/login/`, { method: "POST", headers, body });
  await answer.body?.cancel();
  return answer.status;
}

/** Locks LOCKED_IP out: AXES_FAILURE_LIMIT failures, the last of which already gets the lockout. */
export async function lockClient(stack: Stack): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < GATEWAY_SETTINGS.failureLimit; i++) statuses.push(await lockedAttempt(stack));
  if (statuses.at(-1) !== 429) throw new Error(`could not lock ${LOCKED_IP} out: answers ${statuses.join(", ")}`);
}

/** The first request of a flood, which may ask the store (the isolate's lock cache may have expired). */
export interface Primer {
  readonly storeRoundTrips: number;
}

export async function prime(stack: Stack, primers: Primer[]): Promise<void> {
  let status = 0;
  const storeRoundTrips = await storeTripsOf(stack, async () => {
    status = await lockedAttempt(stack);
  });
  if (status !== 429) throw new Error(`the locked client got ${status} instead of 429 before its flood`);
  primers.push({ storeRoundTrips });
}

export async function measureSlice(stack: Stack, worker: Worker | null, plan: RequestPlan, round: number, slice: SliceOptions, settleMs = SETTLE_MS): Promise<Sample> {
  const before = await readCounters(stack, worker);
  const load = await runSlice(worker?.url ?? stack.originUrl, plan, slice);
  await sleep(settleMs);
  const { store, sql, cpu } = difference(before, await readCounters(stack, worker));
  return { round, load, store, sql, cpu: worker ? cpu : null };
}

export interface GroupResult {
  readonly samples: Map<ScenarioId, Sample[]>;
  /** Requests sent ahead of each (f) slice from the locked client. */
  readonly primers: Primer[];
}

/**
 * Warms every scenario up, then runs `rounds` rounds of one slice each, rotating the order per round.
 * (f) slices are primed with one request and kept shorter than LOCKOUT_CACHE_SECONDS, so the flood
 * after its first request is what they measure: no store call on a request's path, only the
 * background writes that count the refusals.
 */
export async function runGroup(stack: Stack, scenarios: readonly Scenario[], options: MeasureOptions, log: (line: string) => void): Promise<GroupResult> {
  const samples = new Map<ScenarioId, Sample[]>(scenarios.map((s) => [s.id, []]));
  const primers: Primer[] = [];
  const warmupPrimers: Primer[] = [];
  for (const scenario of scenarios) {
    if (scenario.id === "f") await prime(stack, warmupPrimers);
    const settleMs = scenario.id === "f" ? FLOOD_SETTLE_MS : SETTLE_MS;
    await measureSlice(stack, scenario.worker(stack), scenario.plan(stack), -1, { connections: options.connections, seconds: options.warmupSeconds }, settleMs);
  }
  for (let round = 0; round < options.rounds; round++) {
    const order = scenarios.map((_, i) => scenarios[(i + round) % scenarios.length]!);
    for (const scenario of order) {
      if (scenario.id === "f") await prime(stack, primers);
      const slice = { connections: options.connections, seconds: options.sliceSeconds };
      const sample = await measureSlice(stack, scenario.worker(stack), scenario.plan(stack), round, slice, scenario.id === "f" ? FLOOD_SETTLE_MS : SETTLE_MS);
      samples.get(scenario.id)!.push(sample);
    }
    log(`  round ${round + 1}/${options.rounds}: ${order.map((s) => s.id).join(" ")}`);
  }
  return { samples, primers };
}

/** A flood that outlasts the lock cache: the store round trips when the isolate's cached lock expires. */
export interface LockCacheRefresh {
  readonly seconds: number;
  readonly connections: number;
  readonly requests: number;
  readonly storeRoundTrips: number;
}

export async function measureLockCacheRefresh(stack: Stack, connections: number): Promise<LockCacheRefresh> {
  const seconds = GATEWAY_SETTINGS.lockoutCacheSeconds + 2;
  await prime(stack, []);
  const sample = await measureSlice(stack, stack.gateway, failedLoginPlan(stack.runId, LOCKED_IP), 0, { connections, seconds }, FLOOD_SETTLE_MS);
  return { seconds, connections, requests: sample.load.sent, storeRoundTrips: sample.store.requests };
}
