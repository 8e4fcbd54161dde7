/**
 * The cost at world scale, by simulation (issue 16): the bridge's delay fault puts the store 5, 25,
 * 75 and 150 ms away (an edge location near to / far from a single-region Upstash database), and each
 * request kind runs against it. The p50's growth with the distance, divided by the distance added,
 * is the number of store round trips the client waits for: what the round-trip claims of the README
 * mean in milliseconds. Few connections, so the figures are latency, not queueing.
 */
import { measureSlice, prime } from "./measure.ts";
import { failedLoginPlan, LOCKED_IP, ordinaryPlan, successfulLoginPlan } from "./scenarios.ts";
import { LIMITED_PATH, PLAIN_PATH, setFault, type Stack } from "./stack.ts";
import type { RequestPlan } from "./load.ts";
import { summarize } from "./stats.ts";
import type { Worker } from "./wrangler.ts";

export type ScaleKind = "baseline-login" | "ordinary" | "rate-limited" | "failed-login" | "session-login" | "locked-flood";

interface KindPlan {
  readonly kind: ScaleKind;
  readonly title: string;
  readonly expected: number;
  /** Store round trips the client waits for, as the README states them. */
  readonly onPath: number;
  worker(stack: Stack): Worker;
  plan(stack: Stack): RequestPlan;
}

const KINDS: readonly KindPlan[] = [
  { kind: "baseline-login", title: "baseline Worker, failed login", expected: 401, onPath: 1, worker: (s) => s.baseline, plan: (s) => failedLoginPlan(s.runId) },
  { kind: "ordinary", title: "gateway, ordinary GET", expected: 200, onPath: 0, worker: (s) => s.gateway, plan: () => ordinaryPlan(PLAIN_PATH) },
  { kind: "rate-limited", title: "gateway, rate-limited GET", expected: 202, onPath: 1, worker: (s) => s.gateway, plan: () => ordinaryPlan(LIMITED_PATH) },
  { kind: "failed-login", title: "gateway, failed login", expected: 401, onPath: 1, worker: (s) => s.gateway, plan: (s) => failedLoginPlan(s.runId) },
  { kind: "session-login", title: "gateway, successful login that records a session", expected: 200, onPath: 2, worker: (s) => s.gateway, plan: () => successfulLoginPlan() },
  { kind: "locked-flood", title: "gateway, locked-out client's flood (lock cache)", expected: 429, onPath: 0, worker: (s) => s.gateway, plan: (s) => failedLoginPlan(s.runId, LOCKED_IP) },
];

export interface ScaleCell {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Store HTTP requests per request, background writes included. */
  readonly storeRoundTripsPerRequest: number;
  /** Share of answers with the expected status. */
  readonly expectedShare: number;
}

export interface ScaleRow {
  readonly kind: ScaleKind;
  readonly title: string;
  /** The README's round trips on the request's path for this kind. */
  readonly claimedOnPath: number;
  /** Per distance (ms), in the order of `ScaleResult.distancesMs`. */
  readonly cells: ScaleCell[];
  /** (p50 at the farthest - p50 at the nearest) / (their distance apart): round trips the client waits for. */
  readonly measuredOnPath: number;
}

export interface ScaleResult {
  readonly distancesMs: readonly number[];
  readonly connections: number;
  readonly sliceSeconds: number;
  readonly rows: ScaleRow[];
}

/** Runs every kind at every distance; `onPath` of the session login is what the README claims. */
export async function simulateScale(
  stack: Stack,
  { distancesMs, connections, sliceSeconds, sessionLoginOnPath }: { distancesMs: readonly number[]; connections: number; sliceSeconds: number; sessionLoginOnPath: number },
  log: (line: string) => void,
): Promise<ScaleResult> {
  const cells = new Map<ScaleKind, ScaleCell[]>(KINDS.map((k) => [k.kind, []]));
  // A warm-up of each kind, not counted: the store counts must not hold Redis loading a script (EVAL after NOSCRIPT) on a fresh server.
  for (const kind of KINDS) {
    if (kind.kind !== "locked-flood") await measureSlice(stack, kind.worker(stack), kind.plan(stack), -1, { connections, seconds: 0.5 }, 250);
  }
  try {
    for (const delay of distancesMs) {
      await setFault(stack.bridge, { mode: "delay", ms: delay });
      for (const kind of KINDS) {
        if (kind.kind === "locked-flood") await prime(stack, []);
        const settleMs = kind.kind === "locked-flood" ? 2000 + delay : 250 + 2 * delay;
        const sample = await measureSlice(stack, kind.worker(stack), kind.plan(stack), 0, { connections, seconds: sliceSeconds }, settleMs);
        const summary = summarize([sample], (status) => status === kind.expected);
        cells.get(kind.kind)!.push({
          p50Ms: summary.p50Ms,
          p99Ms: summary.p99Ms,
          requests: summary.responses,
          storeRoundTripsPerRequest: summary.storeRoundTripsPerRequest,
          expectedShare: summary.expected / Math.max(1, summary.responses + summary.connectionErrors),
        });
      }
      log(`  store ${delay} ms away: ${KINDS.map((k) => `${k.kind} p50 ${cells.get(k.kind)!.at(-1)!.p50Ms.toFixed(0)} ms`).join(", ")}`);
    }
  } finally {
    await setFault(stack.bridge, { mode: "none" });
  }
  const [near, far] = [distancesMs[0]!, distancesMs.at(-1)!];
  const rows = KINDS.map((k) => {
    const row = cells.get(k.kind)!;
    return {
      kind: k.kind,
      title: k.title,
      claimedOnPath: k.kind === "session-login" ? sessionLoginOnPath : k.onPath,
      cells: row,
      measuredOnPath: (row.at(-1)!.p50Ms - row[0]!.p50Ms) / (far - near),
    };
  });
  return { distancesMs, connections, sliceSeconds, rows };
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : "n/a");

/** The simulation as markdown: p50 / p99 per kind and distance, the round trips read off the slope, and what the caches save. */
export function scaleLines(result: ScaleResult | null): string[] {
  if (!result) return [];
  const { distancesMs, rows } = result;
  const row = (kind: ScaleKind) => rows.find((r) => r.kind === kind)!;
  const saving = (i: number) => row("rate-limited").cells[i]!.p50Ms - row("ordinary").cells[i]!.p50Ms;
  const flood = row("locked-flood");
  return [
    "",
    "### The cost at world scale (simulated store distance)",
    "",
    `The bridge delays every Upstash request by the distance below (one way there and back: the round trip an edge location pays to a single-region database); ` +
      `${result.connections} connections, ${result.sliceSeconds} s per cell, so the figures are latency, not queueing. "Round trips waited for" is the p50's growth ` +
      `from ${distancesMs[0]} to ${distancesMs.at(-1)} ms divided by the ${distancesMs.at(-1)! - distancesMs[0]!} ms added; store requests include background writes.`,
    "",
    `| request kind | ${distancesMs.map((d) => `${d} ms: p50 / p99`).join(" | ")} | store requests / req | round trips waited for (README) |`,
    `|---|${distancesMs.map(() => "--:").join("|")}|--:|--:|`,
    ...rows.map(
      (r) =>
        `| ${r.title} | ${r.cells.map((c) => `${ms(c.p50Ms)} / ${ms(c.p99Ms)}`).join(" | ")} | ${r.cells.at(-1)!.storeRoundTripsPerRequest.toFixed(2)} | ` +
        `${r.measuredOnPath.toFixed(2)} (${r.claimedOnPath}) |`,
    ),
    "",
    `What the caches save per refused request (a refusal from the isolate's lock cache, or from @upstash/ratelimit's ephemeral cache, costs no round trip; ` +
      `without them it would cost the rate-limited request's one): ${distancesMs.map((d, i) => `${ms(saving(i))} ms at ${d} ms`).join(", ")}. ` +
      `Measured: the locked-out flood's p50 stays ${distancesMs.map((d, i) => `${ms(flood.cells[i]!.p50Ms)} ms`).join(", ")} from the nearest to the farthest store.`,
  ];
}
