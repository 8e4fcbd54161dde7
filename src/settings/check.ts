/**
 * Every problem in a configuration at once, with the Worker's own parser: parseConfig stops at the
 * first bad variable, so the check parses again with that variable set to its documented example
 * (or, failing that, unset) until the rest parses. It also notes which names the parser read, to
 * warn about names it never reads (a django-axes setting carried over, a typo).
 */
import { type GatewayConfig, parseConfig } from "./index";
import { ALIASES } from "../config/aliases";
import { ConfigError, type RawEnv } from "../config/read";

/** A name that is set but does nothing as written, and what to write instead. */
export interface ConfigWarning {
  readonly variable: string;
  readonly message: string;
}

export interface ConfigReport {
  readonly problems: readonly ConfigError[];
  readonly warnings: readonly ConfigWarning[];
  /** The parsed configuration; null when there is a problem. */
  readonly config: GatewayConfig | null;
}

/** django-axes settings without a same-named gateway setting, and what expresses them here. */
const DJANGO_AXES_NAMES: Readonly<Record<string, string>> = {
  AXES_NEVER_LOCKOUT_WHITELIST: "AXES_WHITELIST_IPS (listed addresses are never counted)",
  AXES_ONLY_USER_FAILURES: `AXES_LOCKOUT_PARAMETERS='["username"]'`,
  AXES_LOCK_OUT_BY_COMBINATION_USER_AND_IP: `AXES_LOCKOUT_PARAMETERS='[["username","ip_address"]]'`,
  AXES_LOCK_OUT_BY_USER_OR_IP: `AXES_LOCKOUT_PARAMETERS='["username","ip_address"]'`,
  AXES_USE_USER_AGENT: `AXES_LOCKOUT_PARAMETERS='[["ip_address","user_agent"]]'`,
  AXES_HANDLER: "the store settings (UPSTASH_REDIS_REST_URL and _TOKEN, DATABASE_URL)",
  AXES_CACHE: "the store settings (UPSTASH_REDIS_REST_URL and _TOKEN, DATABASE_URL)",
  AXES_IPWARE_META_PRECEDENCE_ORDER: "nothing: the gateway trusts only CF-Connecting-IP",
  AXES_PROXY_COUNT: "nothing: the gateway trusts only CF-Connecting-IP",
};

/** Levenshtein distance, for "did you mean" on short setting names. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** An example as written after `NAME=` in a shell, as a value again. */
const unquote = (example: string) => example.replace(/^'(.*)'$/s, "$1");

function suggestion(name: string, read: ReadonlySet<string>): string | undefined {
  if (ALIASES[name]) return ALIASES[name];
  if (DJANGO_AXES_NAMES[name]) return DJANGO_AXES_NAMES[name];
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 5)) + 1;
  for (const known of read) {
    const distance = editDistance(name, known);
    if (distance < bestDistance) [best, bestDistance] = [known, distance];
  }
  return best;
}

function warningsFor(env: RawEnv, read: ReadonlySet<string>): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  for (const name of Object.keys(env).sort()) {
    if (ALIASES[name]) {
      warnings.push({ variable: name, message: `django-axes' name, read as ${ALIASES[name]}; prefer ${ALIASES[name]}` });
      continue;
    }
    if (read.has(name)) continue;
    const instead = suggestion(name, read);
    if (name.startsWith("AXES_")) {
      warnings.push({ variable: name, message: `is not a setting of this gateway and is ignored${instead ? `; use ${instead}` : ""}` });
    } else if (instead) {
      warnings.push({ variable: name, message: `is not read by the gateway; did you mean ${instead}?` });
    }
  }
  return warnings;
}

/** Parses `env` and reports every problem (each with its variable and a valid example) and every ignored name. */
export function checkConfig(env: RawEnv): ConfigReport {
  const attempt: Record<string, unknown> = { ...env };
  const problems: ConfigError[] = [];
  const substituted = new Set<string>();
  const failures = new Map<string, number>();
  let read = new Set<string>();
  // Each round removes one failing variable, so the number of names bounds the rounds.
  for (let round = 0; round <= Object.keys(env).length + 50; round++) {
    read = new Set<string>();
    const tracked = new Proxy(attempt, {
      get(target, name, receiver) {
        if (typeof name === "string") read.add(name);
        return Reflect.get(target, name, receiver);
      },
    });
    try {
      const config = parseConfig(tracked);
      return { problems, warnings: warningsFor(env, read), config: problems.length === 0 ? config : null };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const seen = failures.get(error.variable) ?? 0;
      failures.set(error.variable, seen + 1);
      // "X is required when Y is set" after Y got our example value is an echo of Y's problem.
      const echo = [...substituted].some((name) => name !== error.variable && error.problem.includes(name));
      if (seen === 0 && !echo) problems.push(error);
      if (seen === 0) {
        attempt[error.variable] = unquote(error.example);
        substituted.add(error.variable);
      } else if (seen === 1) {
        delete attempt[error.variable];
      } else {
        break;
      }
    }
  }
  return { problems, warnings: warningsFor(env, read), config: null };
}
