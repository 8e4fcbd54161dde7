/**
 * Counters in Upstash Redis over HTTP (`@upstash/redis`, Workers import). A reservation is one
 * EVALSHA round trip (EVAL once more only after a SCRIPT FLUSH). The client never retries: a retried
 * INCR that had already been applied would count one failure twice (redis-js issue 1455), so a failed
 * call is reported as a StoreError: the failover store then runs it on Postgres, or FAIL_MODE decides.
 */
import { Redis } from "@upstash/redis/cloudflare";
import { type CounterPage, type CounterRule, type CounterSnapshot, type CounterStore, type DeviceCounted, type DeviceRecord, type DeviceRegistration, type DeviceTrust, type FailureCount, type LockState, type PendingCount, type RefusedAttempts, type Reservation, type WindowCount, lockoutHistoryKey, asStoreError } from "../contract";
import type { AttemptFilter, AttemptNote, AttemptPage } from "../history";
import type { BatchedScript, ScriptBatch } from "./batch";
import { LIST_ATTEMPTS_SCRIPT, attemptEntries, historyStreamOf, historyTail, listAttemptsArgs } from "./history";
import { CONFIRM_FAILURE_SCRIPT, CONSUME_SCRIPT, COUNT_REFUSED_SCRIPT, LIST_DEVICES_SCRIPT, LIST_SCRIPT, MERGE_SCRIPT, PENDING_SCRIPT, READ_SCRIPT, RELEASE_SCRIPT, RESERVE_SCRIPT, REVOKE_DEVICES_SCRIPT } from "./scripts";

/** The narrow part of the Redis client this store uses, so tests and wrappers stay honest. */
export type UpstashClient = Pick<Redis, "createScript" | "del" | "ping">;

export interface UpstashStoreOptions {
  readonly url: string;
  readonly token: string;
  /** Per-call timeout; the call is abandoned (not retried) after it. */
  readonly timeoutMs: number;
}

/** Runs an Upstash call, reporting any failure as a StoreError that names no key or credential. */
export const upstashCall = <T>(call: () => Promise<T>): Promise<T> =>
  asStoreError("upstash", /unauthori[sz]ed|WRONGPASS|invalid token|NOAUTH/i, call);

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

/**
 * The sorted set of a counter's reservations in flight. The suffix cannot end a counter key (those
 * end in an address, a hex digest or a percent-encoded username), and listings skip it by type.
 */
const reservationsOf = (key: string): string => `${key}:inflight`;

/** Counter keys followed by their reservation sets, as the scripts take them. */
const withReservations = (keys: readonly string[]): string[] => [...keys, ...keys.map(reservationsOf)];

/** A counting script's keys and arguments with the attempt history appended after its own. */
function withHistory(keys: string[], args: string[], note: AttemptNote | undefined): [string[], string[]] {
  const tail = historyTail(note);
  return [[...keys, ...tail.keys], [...args, ...tail.args]];
}

/** A history cursor: the stream id of the last entry of the page before, tagged `x:`. */
const STREAM_CURSOR = /^x:([0-9]+-[0-9]+)$/;
/** Counter keys, their reservation sets, then their lockout histories (cool-offs that grow). */
const withHistories = (keys: readonly string[]): string[] => [...withReservations(keys), ...keys.map(lockoutHistoryKey)];

const ttlMs = (rule: CounterRule): string => String(rule.ttlSeconds === null ? 0 : Math.ceil(rule.ttlSeconds * 1000));
const idleMs = (rule: CounterRule): string => String(Math.max(1, Math.ceil(rule.idleSeconds * 1000)));
/** The growth arguments: factor (0 = fixed), memory ms, max cool-off ms. */
const growthArgs = ({ growth }: CounterRule): string[] =>
  growth ? [String(growth.factor), String(Math.ceil(growth.memorySeconds * 1000)), String(Math.floor(growth.maxSeconds * 1000))] : ["0", "0", "0"];

/** A CounterStore on Upstash Redis. */
export class UpstashStore implements CounterStore {
  readonly kind = "upstash";
  private readonly reserveScript: BatchedScript<number[]>;
  private readonly confirmFailureScript: BatchedScript<number[]>;
  private readonly releaseScript: BatchedScript<number>;
  private readonly countRefusedScript;
  private readonly mergeScript;
  private readonly consumeScript;
  private readonly listScript;
  private readonly readScript;
  private readonly listAttemptsScript;
  private readonly listDevicesScript;
  private readonly revokeDevicesScript;
  private readonly pendingScript;

  constructor(
    private readonly redis: UpstashClient,
    /** Turns the scripts' milliseconds-to-live into epoch times, and a device's expiry into a lifetime. @default Date.now */
    private readonly now: () => number = () => Date.now(),
    /**
     * Where the login's counting calls go (reservation, confirmed failure, give-back): with the batch
     * the session store writes to (one database for both), a successful login's give-back and session
     * record travel in one request, and a failure confirmed after the response rides with the next
     * reservation (REDIS_WRITE_LINGER_MS). Until it lands, its reservation keeps the slot, so no
     * attempt gets past the limit meanwhile; the next attempt in this isolate is sent after it in
     * the same request and sees it counted.
     */
    batch?: ScriptBatch,
  ) {
    this.reserveScript = batch ? batch.script<number[]>(RESERVE_SCRIPT) : redis.createScript<number[]>(RESERVE_SCRIPT);
    this.confirmFailureScript = batch ? batch.script<number[]>(CONFIRM_FAILURE_SCRIPT) : redis.createScript<number[]>(CONFIRM_FAILURE_SCRIPT);
    this.releaseScript = batch ? batch.script<number>(RELEASE_SCRIPT) : redis.createScript<number>(RELEASE_SCRIPT);
    this.countRefusedScript = redis.createScript<[number, number, number]>(COUNT_REFUSED_SCRIPT);
    this.mergeScript = redis.createScript<number>(MERGE_SCRIPT);
    this.consumeScript = redis.createScript<[number, number]>(CONSUME_SCRIPT);
    this.listScript = redis.createScript<(string | number)[]>(LIST_SCRIPT);
    this.readScript = redis.createScript<(string | number)[]>(READ_SCRIPT);
    this.listAttemptsScript = redis.createScript<(string | number)[]>(LIST_ATTEMPTS_SCRIPT);
    this.listDevicesScript = redis.createScript<string[]>(LIST_DEVICES_SCRIPT);
    this.revokeDevicesScript = redis.createScript<number>(REVOKE_DEVICES_SCRIPT);
    this.pendingScript = redis.createScript<number[]>(PENDING_SCRIPT);
  }

  private run<T>(call: () => Promise<T>): Promise<T> {
    return upstashCall(call);
  }

  async reserve(keys: readonly string[], rule: CounterRule, reservationId: string, device?: DeviceTrust, note?: AttemptNote): Promise<Reservation> {
    const args = [
      String(rule.limit),
      ttlMs(rule),
      rule.lockOutAtFailure ? "1" : "0",
      rule.countWhileLocked ? "1" : "0",
      reservationId,
      String(Math.ceil(rule.reservationMs)),
      idleMs(rule),
      String(keys.length),
      String(device?.keys.length ?? 0),
      device?.id ?? "",
      ...growthArgs(rule),
    ];
    const all = device ? [...withHistories(keys), ...withHistories(device.keys), device.registry] : withHistories(keys);
    const [state = 0, leftMs = -1, inFlight = 0, trustedFlag = 0, lockouts = 0, ...counts] = await this.run(() => this.reserveScript.exec(...withHistory(all, args, note), "now"));
    const failures = Math.max(0, ...counts);
    const trusted = device ? { trusted: trustedFlag === 1 } : {};
    if (state === 1) return { kind: "locked", failures, lockMsLeft: leftMs >= 0 ? leftMs : null, counts, ...trusted, ...(rule.growth ? { lockouts } : {}) };
    if (state === 2) return { kind: "busy", failures, inFlight };
    return { kind: "reserved", failures, counts, inFlight, ...trusted };
  }

  async pending(keys: readonly string[]): Promise<PendingCount> {
    const [inFlight = 0, ...counts] = await this.run(() => this.pendingScript.exec(withReservations(keys), []));
    return { failures: Math.max(0, ...counts), counts, inFlight };
  }

  async confirmFailure(keys: readonly string[], reservationId: string, rule: CounterRule, device?: DeviceCounted, note?: AttemptNote, afterResponse = false): Promise<FailureCount> {
    const args = [ttlMs(rule), reservationId, rule.lockOutAtFailure ? String(rule.limit) : "0", idleMs(rule), ...growthArgs(rule), device?.id ?? "", String(device ? keys.indexOf(device.counter) + 1 : 0)];
    const all = device ? [...withHistories(keys), device.registry] : withHistories(keys);
    const [lockouts = 0, ...counts] = await this.run(() => this.confirmFailureScript.exec(...withHistory(all, args, note), afterResponse ? "after-response" : "now"));
    return { failures: Math.max(0, ...counts), counts, ...(rule.growth ? { lockouts } : {}) };
  }

  async release(keys: readonly string[], reservationId: string, clearCounters: boolean, device?: DeviceRegistration, note?: AttemptNote): Promise<void> {
    const args = [reservationId, clearCounters ? "1" : "0"];
    if (device) {
      const lifetimeMs = Math.max(1, Math.ceil(device.expiresAtMs - this.now()));
      args.push(device.id, device.replaces ?? "", `${Math.ceil(device.expiresAtMs)} ${device.info}`, String(lifetimeMs), String(device.maxPerUser));
    }
    await this.run(() => this.releaseScript.exec(...withHistory(device ? [...withHistories(keys), device.registry] : withHistories(keys), args, note)));
  }

  async listDevices(registry: string): Promise<DeviceRecord[]> {
    const flat = await this.run(() => this.listDevicesScript.exec([registry], []));
    const now = this.now();
    const found: DeviceRecord[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const entry = String(flat[i + 1]);
      const at = entry.indexOf(" ");
      const expiresAtMs = Number(at < 0 ? entry : entry.slice(0, at));
      if (expiresAtMs > now) found.push({ id: String(flat[i]), expiresAtMs, info: at < 0 ? "{}" : entry.slice(at + 1) });
    }
    return found;
  }

  async revokeDevices(registry: string, ids: readonly string[] | null, counterOf: (id: string) => string): Promise<number> {
    const named = ids ?? (await this.listDevices(registry)).map((d) => d.id);
    if (named.length === 0) return 0;
    return this.run(() => this.revokeDevicesScript.exec([registry, ...named.map(counterOf)], [...named]));
  }

  async countRefused({ lockKey, attempts }: RefusedAttempts, rule: CounterRule, note?: AttemptNote): Promise<LockState> {
    const others = [...attempts.keys()].filter((key) => key !== lockKey);
    const args = [String(rule.limit), ttlMs(rule), idleMs(rule), String(attempts.get(lockKey) ?? 0), ...others.map((key) => String(attempts.get(key))), ...growthArgs(rule)];
    const counters = [lockKey, ...others];
    const [locked, failures, leftMs] = await this.run(() => this.countRefusedScript.exec(...withHistory([...counters, ...counters.map(lockoutHistoryKey)], args, note)));
    return { locked: locked === 1, failures, lockMsLeft: locked === 1 && leftMs >= 0 ? leftMs : null };
  }

  async reset(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.run(() => this.redis.del(...withHistories(keys)));
  }

  async merge(counters: readonly CounterSnapshot[]): Promise<void> {
    if (counters.length === 0) return;
    const args = counters.flatMap(({ count, expiresAtMs }) => [String(count), String(expiresAtMs === null ? 0 : Math.ceil(expiresAtMs))]);
    await this.run(() => this.mergeScript.exec(counters.map((c) => c.key), args));
  }

  async consume(key: string, windowSeconds: number): Promise<WindowCount> {
    const [count, leftMs] = await this.run(() => this.consumeScript.exec([key], [String(Math.ceil(windowSeconds * 1000))]));
    return { count, resetAtMs: this.now() + Math.max(0, leftMs) };
  }

  async ping(): Promise<void> {
    await this.run(() => this.redis.ping());
  }

  async read(keys: readonly string[]): Promise<CounterSnapshot[]> {
    if (keys.length === 0) return [];
    return snapshots(await this.run(() => this.readScript.exec([...new Set(keys)], [])), this.now());
  }

  /** SCAN pages; the cursor is Redis's SCAN cursor, tagged `s:`. */
  async list(prefix: string, limit: number, cursor: string | null = null): Promise<CounterPage> {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
    // A cursor another store gave (after a failover) means nothing here: start again.
    const from = cursor !== null && /^s:[0-9]+$/.test(cursor) ? cursor.slice(2) : "0";
    const [next, ...flat] = await this.run(() => this.listScript.exec([], [pattern, String(limit), from]));
    return { counters: snapshots(flat, this.now()), cursor: String(next) === "0" ? null : `s:${next}` };
  }

  /** Newest first from the prefix's stream; the cursor is the last stream id read, tagged `x:`. */
  async listAttempts(prefix: string, filter: AttemptFilter, limit: number, cursor: string | null = null): Promise<AttemptPage> {
    const after = STREAM_CURSOR.exec(cursor ?? "")?.[1] ?? "";
    const [next, ...flat] = await this.run(() => this.listAttemptsScript.exec([historyStreamOf(prefix)], listAttemptsArgs(filter, limit, after)));
    return { attempts: attemptEntries(flat), cursor: String(next) === "" ? null : `x:${next}` };
  }
}

/** Counters from a script's flat key, value, ms-to-live triples (read at `now`); zero counts are not counters. */
function snapshots(flat: readonly (string | number)[], now: number): CounterSnapshot[] {
  const found: CounterSnapshot[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const count = Number(flat[i + 1]);
    const ttl = Number(flat[i + 2]);
    if (Number.isFinite(count) && count > 0) found.push({ key: String(flat[i]), count, expiresAtMs: ttl >= 0 ? now + ttl : null });
  }
  return found;
}
