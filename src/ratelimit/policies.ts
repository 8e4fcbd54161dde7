/**
 * RATE_LIMITS: per-route API rate limits. Policies are tried in order and the first whose method and
 * path match applies (put specific paths before general ones). Login routes keep their lockout
 * logic; a policy that matches a login route stacks on top of it. A policy listing GET also counts
 * HEAD (Django runs the same view), and paths match with or without their trailing slash.
 */
import { parseDurationSeconds } from "../config/duration";
import { ConfigError, type RawEnv, readChoice, readJson } from "../config/read";
import { canonicalPath } from "../http/path";

export type Algorithm = "fixed-window" | "sliding-window" | "token-bucket";

/** One part of a rate-limit key: the client's IP (IPv6 grouped to its /64), a request header, or the edge session's user. */
export type KeyPart = { readonly kind: "ip" } | { readonly kind: "user" } | { readonly kind: "header"; readonly name: string };

/** One counter's limits: a policy's own, or the per-IP cap of a header-keyed policy. */
export interface RateLimitWindow {
  /** Names the counter in keys: the policy's name, or `<name>:ip` for its IP cap (no policy name holds ":"). */
  readonly name: string;
  readonly algorithm: Algorithm;
  /** Requests per window (token bucket: the bucket's size). */
  readonly limit: number;
  readonly windowSeconds: number;
  /** Token bucket only: tokens added per window. */
  readonly refill: number;
}

export interface RateLimitPolicy extends RateLimitWindow {
  /** Unique; names the policy in headers, logs and keys. */
  readonly name: string;
  readonly methods: readonly string[] | null;
  /** Canonical path prefix, or a glob when it contains `*`. */
  readonly path: string;
  readonly matches: (path: string) => boolean;
  readonly algorithm: Algorithm;
  /** Requests per window (token bucket: the bucket's size). */
  readonly limit: number;
  readonly windowSeconds: number;
  /** Token bucket only: tokens added per window. @default limit */
  readonly refill: number;
  readonly key: readonly KeyPart[];
  /**
   * A policy keyed by a header also counts each client IP under this cap (`ipLimit`, default the
   * policy's `limit`), so header values a client invents buy it no extra budget; null otherwise.
   */
  readonly ipCap: RateLimitWindow | null;
  /** Decide and log, but never refuse. @default false */
  readonly shadow: boolean;
  /** When every store fails. @default FAIL_MODE's `other` */
  readonly failMode: "open" | "closed" | null;
}

export type HeaderStyle = "off" | "draft-10" | "draft-7";

const EXAMPLE = `'[{"name":"api","path":"/api/","limit":100,"window":"1m"}]'`;
const ALGORITHMS: readonly Algorithm[] = ["fixed-window", "sliding-window", "token-bucket"];
const KNOWN = new Set(["name", "path", "methods", "algorithm", "limit", "window", "refill", "key", "ipLimit", "shadow", "failMode"]);

/**
 * Matches canonical paths, which never end in a slash: each is tried as it is and with its slash
 * back, so the glob `/search/*` matches `/search/` (canonical `/search`) as the origin serves it.
 */
function matcherFor(path: string): (candidate: string) => boolean {
  let test: (candidate: string) => boolean;
  if (path.includes("*")) {
    const pattern = canonicalPath(path).split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
    const regex = new RegExp(`^${pattern}$`);
    test = (candidate) => regex.test(candidate);
  } else {
    const prefix = canonicalPath(path);
    if (prefix === "/") return () => true;
    test = (candidate) => candidate === prefix || candidate.startsWith(`${prefix}/`);
  }
  return (candidate) => test(candidate) || (candidate !== "/" && test(`${candidate}/`));
}

function parseKey(value: unknown, invalid: (problem: string) => ConfigError): KeyPart[] {
  const parts = value === undefined ? ["ip"] : Array.isArray(value) ? value : [value];
  if (parts.length === 0) throw invalid('"key" must name at least one part');
  return parts.map((part) => {
    if (part === "ip") return { kind: "ip" } as const;
    if (part === "user") return { kind: "user" } as const;
    if (typeof part === "string" && /^header:[A-Za-z0-9-]+$/.test(part)) return { kind: "header", name: part.slice(7).toLowerCase() } as const;
    throw invalid(`key part ${JSON.stringify(part)} must be "ip", "user" or "header:<Name>"`);
  });
}

function positiveInteger(value: unknown, name: string, invalid: (problem: string) => ConfigError): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw invalid(`"${name}" must be a whole number above zero`);
  return value as number;
}

function parsePolicy(entry: unknown, index: number): RateLimitPolicy {
  const invalid = (problem: string) => new ConfigError("RATE_LIMITS", `policy ${index}: ${problem}`, EXAMPLE);
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw invalid("must be an object");
  const policy = entry as Record<string, unknown>;
  const unknown = Object.keys(policy).find((key) => !KNOWN.has(key));
  if (unknown) throw invalid(`unknown key "${unknown}"`);
  if (typeof policy.name !== "string" || !/^[\w.-]{1,64}$/.test(policy.name)) throw invalid('"name" must be 1-64 letters, digits, "_", "." or "-"');
  if (typeof policy.path !== "string" || !policy.path.startsWith("/")) throw invalid('"path" must start with "/"');
  const methods = policy.methods ?? null;
  if (methods !== null && (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === "string" && /^[A-Za-z]+$/.test(m)))) {
    throw invalid('"methods" must be a list such as ["GET","POST"]');
  }
  const algorithm = (policy.algorithm ?? "sliding-window") as Algorithm;
  if (!ALGORITHMS.includes(algorithm)) throw invalid(`"algorithm" must be one of ${ALGORITHMS.join(", ")}`);
  const limit = positiveInteger(policy.limit, "limit", invalid);
  if (typeof policy.window !== "string") throw invalid('"window" must be a duration such as "1m"');
  let windowSeconds: number;
  try {
    windowSeconds = parseDurationSeconds(policy.window);
  } catch (error) {
    throw invalid(`"window": ${(error as Error).message}`);
  }
  if (policy.refill !== undefined && algorithm !== "token-bucket") throw invalid('"refill" applies to the token-bucket algorithm only');
  const refill = policy.refill === undefined ? limit : positiveInteger(policy.refill, "refill", invalid);
  const key = parseKey(policy.key, invalid);
  const byHeader = key.some((part) => part.kind === "header");
  if (policy.ipLimit !== undefined && !byHeader) throw invalid('"ipLimit" applies to policies keyed by a header only');
  const ipLimit = policy.ipLimit === undefined ? limit : positiveInteger(policy.ipLimit, "ipLimit", invalid);
  if (policy.shadow !== undefined && typeof policy.shadow !== "boolean") throw invalid('"shadow" must be true or false');
  const failMode = policy.failMode ?? null;
  if (failMode !== null && failMode !== "open" && failMode !== "closed") throw invalid('"failMode" must be "open" or "closed"');
  const methodList: string[] | null = methods && methods.map((m: string) => m.toUpperCase());
  if (methodList?.includes("GET") && !methodList.includes("HEAD")) methodList.push("HEAD");
  return Object.freeze({
    name: policy.name,
    methods: methodList && Object.freeze(methodList),
    path: policy.path,
    matches: matcherFor(policy.path),
    algorithm,
    limit,
    windowSeconds,
    refill,
    key: Object.freeze(key),
    // The cap's token bucket refills in the same proportion as the policy's.
    ipCap: byHeader
      ? Object.freeze({ name: `${policy.name}:ip`, algorithm, limit: ipLimit, windowSeconds, refill: Math.ceil((refill * ipLimit) / limit) })
      : null,
    shadow: policy.shadow === true,
    failMode,
  });
}

/** Reads RATE_LIMITS (default: none). */
export function parseRateLimits(env: RawEnv): readonly RateLimitPolicy[] {
  const value = readJson(env, "RATE_LIMITS", '[{"name":"api","path":"/api/","limit":100,"window":"1m"}]') ?? [];
  if (!Array.isArray(value)) throw new ConfigError("RATE_LIMITS", "must be a JSON list of policies", EXAMPLE);
  const policies = value.map(parsePolicy);
  const names = new Set<string>();
  for (const { name } of policies) {
    if (names.has(name)) throw new ConfigError("RATE_LIMITS", `two policies are named "${name}"`, EXAMPLE);
    names.add(name);
  }
  return Object.freeze(policies);
}

/** RATE_LIMIT_HEADERS: which RateLimit header fields limited routes carry. @default "draft-10" */
export const parseHeaderStyle = (env: RawEnv): HeaderStyle =>
  readChoice(env, "RATE_LIMIT_HEADERS", ["off", "draft-10", "draft-7"] as const, "draft-10");

/** The first policy that applies to a request (its canonical path), if any. */
export function matchRateLimit(policies: readonly RateLimitPolicy[], method: string, path: string): RateLimitPolicy | undefined {
  if (policies.length === 0) return undefined;
  return policies.find((policy) => (policy.methods === null || policy.methods.includes(method)) && policy.matches(path));
}
