/**
 * The scenarios of issue 6, each with what it sends, where, and which answers it expects. They run in
 * two groups, each group interleaving its own references: (a) the origin directly and (b) the baseline
 * Worker, sent the same requests as the gateway scenarios they are compared with.
 */
import { DEMO_PASSWORD, DEMO_USERNAME } from "../tools/demo-origin/credentials.ts";
import type { RequestPlan } from "./load.ts";
import { LIMITED_PATH, LOGIN_PATH, PLAIN_PATH, type Stack } from "./stack.ts";
import type { Worker } from "./wrangler.ts";

export type ScenarioId = "a-plain" | "b-plain" | "c" | "d" | "a-login" | "b-login" | "e" | "e-quiet" | "f" | "g";
export type GroupId = "plain" | "login";

export interface Scenario {
  readonly id: ScenarioId;
  readonly group: GroupId;
  /** As in the issue: "(d) gateway, rate-limited route". */
  readonly title: string;
  /** A shorter title for the chart. */
  readonly short: string;
  readonly expectedStatuses: readonly number[];
  /** The Worker under load; null = the origin itself. */
  worker(stack: Stack): Worker | null;
  plan(stack: Stack): RequestPlan;
}

/** The client every (f) request comes from, locked out before the flood. */
export const LOCKED_IP = "198.51.100.77";

let sequence = 0;
/** 250 client addresses, for ordinary traffic from many clients. */
const pooledIp = () => `10.77.0.${(++sequence % 250) + 1}`;
/** A fresh address per request (8M before it repeats), so failed logins never reach a limit. */
const freshIp = () => {
  const n = ++sequence;
  return `10.${128 + ((n >> 16) & 127)}.${(n >> 8) & 255}.${n & 255}`;
};

function plainPlan(path: string): RequestPlan {
  return { method: "GET", path, next: () => ({ headers: { "cf-connecting-ip": pooledIp() } }) };
}

/** Failed JSON logins, each from its own address with its own username unless `ip` pins the client. */
export function failedLoginPlan(runId: string, ip?: string): RequestPlan {
  return {
    method: "POST",
    path: LOGIN_PATH,
    next: () => ({
      headers: { "cf-connecting-ip": ip ?? freshIp(), "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ username: `bench-${runId}-${++sequence}`, password: "wrong-password" }),
    }),
  };
}

/** Correct logins of the demo user, each from its own address: the origin sets a session cookie the gateway records. */
export function successfulLoginPlan(): RequestPlan {
  return {
    method: "POST",
    path: LOGIN_PATH,
    next: () => ({
      headers: { "cf-connecting-ip": freshIp(), "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ username: DEMO_USERNAME, password: DEMO_PASSWORD }),
    }),
  };
}

/** Ordinary GETs from many clients, on `path`. */
export const ordinaryPlan = (path: string): RequestPlan => plainPlan(path);

const origin = () => null;

export const SCENARIOS: readonly Scenario[] = [
  {
    id: "a-plain", group: "plain", title: "(a) origin directly, ordinary route", short: "(a) origin, GET",
    expectedStatuses: [200], worker: origin, plan: () => plainPlan(PLAIN_PATH),
  },
  {
    id: "b-plain", group: "plain", title: "(b) baseline Worker (ratelimit + proxy)", short: "(b) baseline Worker, GET",
    expectedStatuses: [200], worker: (stack) => stack.baseline, plan: () => plainPlan(PLAIN_PATH),
  },
  {
    id: "c", group: "plain", title: "(c) gateway, ordinary route", short: "(c) gateway, ordinary GET",
    expectedStatuses: [200], worker: (stack) => stack.gateway, plan: () => plainPlan(PLAIN_PATH),
  },
  {
    id: "d", group: "plain", title: "(d) gateway, rate-limited route", short: "(d) gateway, rate-limited GET",
    expectedStatuses: [202], worker: (stack) => stack.gateway, plan: () => plainPlan(LIMITED_PATH),
  },
  {
    id: "a-login", group: "login", title: "(a) origin directly, failed login", short: "(a) origin, failed login",
    expectedStatuses: [401], worker: origin, plan: (stack) => failedLoginPlan(stack.runId),
  },
  {
    id: "b-login", group: "login", title: "(b) baseline Worker, failed login", short: "(b) baseline Worker, failed login",
    expectedStatuses: [401], worker: (stack) => stack.baseline, plan: (stack) => failedLoginPlan(stack.runId),
  },
  {
    id: "e", group: "login", title: "(e) gateway, failed logins", short: "(e) gateway, failed login",
    expectedStatuses: [401], worker: (stack) => stack.gateway, plan: (stack) => failedLoginPlan(stack.runId),
  },
  {
    id: "e-quiet", group: "login", title: "(e') gateway, failed logins, decision logs off", short: "(e') gateway, failed login, logs off",
    expectedStatuses: [401], worker: (stack) => stack.gatewayQuiet, plan: (stack) => failedLoginPlan(stack.runId),
  },
  {
    id: "f", group: "login", title: "(f) gateway, locked-out client's flood", short: "(f) gateway, locked-out flood",
    expectedStatuses: [429], worker: (stack) => stack.gateway, plan: (stack) => failedLoginPlan(stack.runId, LOCKED_IP),
  },
  {
    id: "g", group: "login", title: "(g) gateway, failed logins, Upstash down (Postgres)", short: "(g) gateway, Upstash down",
    expectedStatuses: [401], worker: (stack) => stack.gatewayUpstashDown, plan: (stack) => failedLoginPlan(stack.runId),
  },
];

/** The references of each group: what the gateway scenarios are divided by. */
export const REFERENCES: Record<GroupId, { origin: ScenarioId; baseline: ScenarioId }> = {
  plain: { origin: "a-plain", baseline: "b-plain" },
  login: { origin: "a-login", baseline: "b-login" },
};

export function scenario(id: ScenarioId): Scenario {
  return SCENARIOS.find((candidate) => candidate.id === id)!;
}
