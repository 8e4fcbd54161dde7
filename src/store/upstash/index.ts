/**
 * Counters in Upstash Redis over HTTP (`@upstash/redis`, Workers import). A reservation is one
 * EVALSHA round trip (EVAL once more only after a SCRIPT FLUSH). The client never retries: a retried
 * INCR that had already been applied would count one failure twice (redis-js issue 1455), so a failed
 * call is reported as a StoreError and the gateway's fail mode decides.
 */
import { Redis } from "@upstash/redis/cloudflare";
import { type CounterRule, type CounterStore, type Reservation, StoreError } from "../contract";
import { RELEASE_SCRIPT, RESERVE_SCRIPT } from "./scripts";

/** The narrow part of the Redis client this store uses, so tests and wrappers stay honest. */
export type UpstashClient = Pick<Redis, "createScript" | "del">;

export interface UpstashStoreOptions {
  readonly url: string;
  readonly token: string;
  /** Per-call timeout; the call is abandoned (not retried) after it. */
  readonly timeoutMs: number;
}

/** Maps whatever the SDK threw to a StoreError whose message holds no key, username or credential. */
function storeError(error: unknown): StoreError {
  const name = error instanceof Error ? error.name : "";
  const message = error instanceof Error ? error.message : String(error);
  if (name === "TimeoutError" || name === "AbortError" || /aborted|timed? ?out/i.test(message)) {
    return new StoreError("upstash", "timeout", "Upstash did not answer in time");
  }
  if (/unauthori[sz]ed|WRONGPASS|invalid token|NOAUTH/i.test(message)) {
    return new StoreError("upstash", "unauthorized", "Upstash refused the credentials");
  }
  if (name === "UpstashError") return new StoreError("upstash", "error", "Upstash answered an error");
  return new StoreError("upstash", "unreachable", "Upstash could not be reached");
}

/** Builds the Upstash client the way counting needs it: no retries, a fresh timeout per request. */
export function createUpstashClient({ url, token, timeoutMs }: UpstashStoreOptions): Redis {
  return new Redis({
    url,
    token,
    retry: false,
    signal: () => AbortSignal.timeout(timeoutMs),
    enableAutoPipelining: false,
    enableTelemetry: false,
    automaticDeserialization: false,
  });
}

/** A CounterStore on Upstash Redis. */
export class UpstashStore implements CounterStore {
  readonly kind = "upstash";
  private readonly reserveScript;
  private readonly releaseScript;

  constructor(private readonly redis: UpstashClient) {
    this.reserveScript = redis.createScript<[number, number, number]>(RESERVE_SCRIPT);
    this.releaseScript = redis.createScript<number>(RELEASE_SCRIPT);
  }

  async reserve(keys: readonly string[], rule: CounterRule): Promise<Reservation> {
    const args = [
      String(rule.limit),
      String(rule.ttlSeconds === null ? 0 : Math.ceil(rule.ttlSeconds * 1000)),
      rule.lockOutAtFailure ? "1" : "0",
      rule.countWhileLocked ? "1" : "0",
    ];
    try {
      const [locked, failures, retryMs] = await this.reserveScript.exec([...keys], args);
      return {
        locked: locked === 1,
        failures,
        retryAfterSeconds: locked === 1 && retryMs >= 0 ? Math.max(1, Math.ceil(retryMs / 1000)) : null,
      };
    } catch (error) {
      throw storeError(error);
    }
  }

  async release(keys: readonly string[]): Promise<void> {
    try {
      await this.releaseScript.exec([...keys], []);
    } catch (error) {
      throw storeError(error);
    }
  }

  async reset(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.redis.del(...keys);
    } catch (error) {
      throw storeError(error);
    }
  }
}
