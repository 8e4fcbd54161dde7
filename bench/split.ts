/**
 * Where a failed login's CPU goes: runs bench/gateway/profile.ts (the gateway's own modules, step by
 * step, with canned network answers) in a child process and renders its split for the report.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { REPO_ROOT } from "./wrangler.ts";

export interface ProfileStep {
  readonly step: string;
  /** CPU microseconds per request. */
  readonly cpuUs: number;
}

export interface ProfileResult {
  readonly iterations: number;
  readonly steps: ProfileStep[];
  /** The whole failed login through the gateway app (steps plus Hono's routing and the rest). */
  readonly gatewayUs: number;
  /** The baseline Worker's failed login (ratelimit + fetch), measured the same way. */
  readonly baselineUs: number;
}

/** Run with AsyncLocalStorage on async context frames, as workerd implements it (the gateway batches each request's Upstash calls in a lane of its own), not on Node 22's default promise hooks. */
export async function profileFailedLogin(iterations: number): Promise<ProfileResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--experimental-async-context-frame", "--import", "tsx", "bench/gateway/profile.ts", String(iterations)], { cwd: REPO_ROOT, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as ProfileResult;
}

/** The split as markdown. */
export function profileLines(profile: ProfileResult | null): string[] {
  if (!profile) return [];
  const us = (value: number) => `${value.toFixed(0)} µs`;
  const sum = profile.steps.reduce((total, s) => total + s.cpuUs, 0);
  return [
    "",
    "### Where a failed login's CPU goes (bench/gateway/profile.ts)",
    "",
    `Each step of the gateway's path run alone ${profile.iterations} times in Node (V8, as in workerd), the network replaced by canned answers ` +
      "(whose own parsing is counted in the store call): CPU per request, without wrangler dev, the sockets or the machine's other work. " +
      "workerd's timers do not advance during computation, so this split cannot be taken inside the Worker.",
    "",
    "| step | CPU per request |",
    "|---|--:|",
    ...profile.steps.map((s) => `| ${s.step} | ${us(s.cpuUs)} |`),
    `| sum of the steps | ${us(sum)} |`,
    `| the whole failed login through the gateway app (Hono, the steps, the confirmed failure after the response) | ${us(profile.gatewayUs)} |`,
    `| the baseline Worker's failed login (Hono, @upstash/ratelimit, fetch) | ${us(profile.baselineUs)} |`,
  ];
}
