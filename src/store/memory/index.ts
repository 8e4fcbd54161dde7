/**
 * Counters in this isolate's memory, for development and unit tests only. Like django-axes'
 * warning about LocMemCache, it is refused when ENVIRONMENT=production: each Worker isolate would
 * count on its own, so an attacker spread over isolates would get many times the limit.
 */
import { type AttemptEntry, type AttemptFilter, type AttemptNote, type AttemptPage, matchesFilter } from "../history";
import { type CounterPage, type CounterRule, type CounterSnapshot, type CounterStore, type DeviceCounted, type DeviceRecord, type DeviceRegistration, type DeviceTrust, type FailureCount, type LockState, type PendingCount, type RefusedAttempts, type Reservation, type WindowCount, grownCooloffMs, lockoutHistoryKey, keysetCursor } from "../contract";

interface Counter {
  count: number;
  /** Epoch milliseconds; null = never expires. */
  expiresAt: number | null;
}

/** When a counter just counted to `count` expires (epoch ms), by the rule's cool-off or idle time; null = never. */
function expiryAfterCount(rule: CounterRule, count: number, now: number): number | null {
  if (rule.ttlSeconds !== null) return now + rule.ttlSeconds * 1000;
  return rule.lockOutAtFailure && count >= rule.limit ? null : now + rule.idleSeconds * 1000;
}

/** An in-memory CounterStore with a clock that tests can drive. */
export class MemoryStore implements CounterStore {
  readonly kind = "memory";
  private readonly counters = new Map<string, Counter>();
  /** Reservations in flight per counter key: reservation id -> expiry (epoch ms). */
  private readonly inFlight = new Map<string, Map<string, number>>();
  /** Attempt history per key prefix, oldest first, capped at the note's maxEntries. */
  private readonly history = new Map<string, AttemptEntry[]>();
  private historyIds = 0;
  /** Lockouts remembered per counter (cool-offs that grow), by history key. */
  private readonly histories = new Map<string, Counter>();
  /** Trusted devices per registry: device id -> its record. */
  private readonly devices = new Map<string, Map<string, DeviceRecord>>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(key: string): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter && counter.expiresAt !== null && counter.expiresAt <= this.now()) {
      this.counters.delete(key);
      return undefined;
    }
    return counter;
  }

  /** Live reservations of a key, after dropping the expired ones. */
  private flying(key: string): Map<string, number> {
    const reservations = this.inFlight.get(key) ?? new Map<string, number>();
    for (const [id, expiresAt] of reservations) if (expiresAt <= this.now()) reservations.delete(id);
    if (reservations.size === 0) this.inFlight.delete(key);
    return reservations;
  }

  private addFailures(key: string, attempts: number, rule: CounterRule): number {
    const counter = this.live(key) ?? { count: 0, expiresAt: null };
    counter.count += attempts;
    counter.expiresAt = expiryAfterCount(rule, counter.count, this.now());
    this.counters.set(key, counter);
    this.grow(key, counter, counter.count - attempts < rule.limit, rule);
    return counter.count;
  }

  /**
   * Cool-offs that grow: a counter at the limit gets the cool-off of its lockout count, recording a
   * new lockout when it has just `reached` the limit (or its history was forgotten meanwhile).
   */
  private grow(key: string, counter: Counter, reached: boolean, rule: CounterRule): void {
    const { growth, ttlSeconds, limit } = rule;
    if (!growth || ttlSeconds === null || counter.count < limit) return;
    const historyKey = lockoutHistoryKey(key);
    const history = this.liveHistory(historyKey) ?? { count: 0, expiresAt: null };
    if (reached || history.count === 0) history.count += 1;
    const applied = grownCooloffMs(ttlSeconds * 1000, growth, history.count);
    counter.expiresAt = this.now() + applied;
    history.expiresAt = counter.expiresAt + growth.memorySeconds * 1000;
    this.histories.set(historyKey, history);
  }

  private liveHistory(historyKey: string): Counter | undefined {
    const history = this.histories.get(historyKey);
    return history && history.expiresAt !== null && history.expiresAt <= this.now() ? undefined : history;
  }

  /** With growth: the most lockouts remembered of the counters at the limit. */
  private lockoutsOf(keys: readonly string[], rule: CounterRule): { lockouts?: number } {
    if (!rule.growth) return {};
    let most = 0;
    for (const key of keys) {
      if ((this.live(key)?.count ?? 0) >= rule.limit) most = Math.max(most, this.liveHistory(lockoutHistoryKey(key))?.count ?? 1);
    }
    return { lockouts: most };
  }

  /** Whether the registry holds the device, unexpired. */
  private trusts(registry: string, id: string): boolean {
    const record = this.devices.get(registry)?.get(id);
    return record !== undefined && record.expiresAtMs > this.now();
  }

  /** Milliseconds until every counter of `keys` at the limit has expired; null when one never does. */
  private lockMsLeft(keys: readonly string[], limit: number): number | null {
    let endsAt = this.now();
    for (const key of keys) {
      const counter = this.live(key);
      if (!counter || counter.count < limit) continue;
      if (counter.expiresAt === null) return null;
      endsAt = Math.max(endsAt, counter.expiresAt);
    }
    return endsAt - this.now();
  }

  private append(note: AttemptNote | undefined): void {
    if (note === undefined) return;
    const entries = this.history.get(note.target.prefix) ?? [];
    for (const record of note.records) entries.push({ ...record, counters: [...record.counters], atMs: this.now(), id: String(++this.historyIds) });
    entries.splice(0, Math.max(0, entries.length - note.target.maxEntries));
    this.history.set(note.target.prefix, entries);
  }

  async reserve(ordinary: readonly string[], rule: CounterRule, reservationId: string, device?: DeviceTrust, note?: AttemptNote): Promise<Reservation> {
    const trusted = device !== undefined && this.trusts(device.registry, device.id);
    const keys = trusted ? device.keys : ordinary;
    const reservation = this.reserveOn(keys, rule, reservationId, note);
    // A trusted device counted up to the limit while locked loses its trust, as in the scripts.
    if (trusted && reservation.kind === "locked" && rule.countWhileLocked && (this.live(device.keys.at(-1)!)?.count ?? 0) >= rule.limit) this.devices.get(device.registry)?.delete(device.id);
    if (reservation.kind === "busy" || device === undefined) return reservation;
    return { ...reservation, trusted };
  }

  private reserveOn(keys: readonly string[], rule: CounterRule, reservationId: string, note: AttemptNote | undefined): Reservation {
    const before = keys.map((key) => this.live(key)?.count ?? 0);
    const flying = keys.map((key) => this.flying(key).size);
    const current = Math.max(0, ...before);
    if (rule.lockOutAtFailure && current >= rule.limit) {
      this.append(note);
      if (!rule.countWhileLocked) return { kind: "locked", failures: current, lockMsLeft: this.lockMsLeft(keys, rule.limit), counts: before, ...this.lockoutsOf(keys, rule) };
      const counts = keys.map((key) => this.addFailures(key, 1, rule));
      return { kind: "locked", failures: Math.max(...counts), lockMsLeft: this.lockMsLeft(keys, rule.limit), counts, ...this.lockoutsOf(keys, rule) };
    }
    if (rule.lockOutAtFailure && keys.some((_, i) => before[i]! + flying[i]! >= rule.limit)) {
      return { kind: "busy", failures: current, inFlight: Math.max(0, ...flying) };
    }
    for (const key of keys) this.inFlight.set(key, this.flying(key).set(reservationId, this.now() + rule.reservationMs));
    return { kind: "reserved", failures: current, counts: before, inFlight: Math.max(0, ...flying) + 1 };
  }

  async pending(keys: readonly string[]): Promise<PendingCount> {
    const counts = keys.map((key) => this.live(key)?.count ?? 0);
    return { failures: Math.max(0, ...counts), counts, inFlight: Math.max(0, ...keys.map((key) => this.flying(key).size)) };
  }

  async confirmFailure(keys: readonly string[], reservationId: string, rule: CounterRule, device?: DeviceCounted, note?: AttemptNote): Promise<FailureCount> {
    this.append(note);
    for (const key of keys) this.flying(key).delete(reservationId);
    const counts = keys.map((key) => this.addFailures(key, 1, rule));
    if (device && (this.live(device.counter)?.count ?? 0) >= rule.limit) this.devices.get(device.registry)?.delete(device.id);
    return { failures: Math.max(0, ...counts), counts, ...this.lockoutsOf(keys, rule) };
  }

  async release(keys: readonly string[], reservationId: string, clearCounters: boolean, device?: DeviceRegistration, note?: AttemptNote): Promise<void> {
    this.append(note);
    for (const key of keys) {
      this.flying(key).delete(reservationId);
      if (clearCounters) this.forget(key);
    }
    if (device) this.register(device);
  }

  private forget(key: string): void {
    this.counters.delete(key);
    this.histories.delete(lockoutHistoryKey(key));
  }

  /** Adds the device (replacing the one it follows), dropping expired ones and, beyond the cap, those closest to expiry. */
  private register({ registry, id, replaces, expiresAtMs, info, maxPerUser }: DeviceRegistration): void {
    const devices = this.devices.get(registry) ?? new Map<string, DeviceRecord>();
    if (replaces !== null) devices.delete(replaces);
    devices.set(id, { id, expiresAtMs, info });
    const kept = [...devices.values()].filter((d) => d.expiresAtMs > this.now()).sort((a, b) => b.expiresAtMs - a.expiresAtMs).slice(0, maxPerUser);
    this.devices.set(registry, new Map(kept.map((d) => [d.id, d])));
  }

  async listDevices(registry: string): Promise<DeviceRecord[]> {
    return [...(this.devices.get(registry)?.values() ?? [])].filter((d) => d.expiresAtMs > this.now());
  }

  async revokeDevices(registry: string, ids: readonly string[] | null, counterOf: (id: string) => string): Promise<number> {
    const devices = this.devices.get(registry);
    if (!devices) return 0;
    const gone = (ids ?? [...devices.keys()]).filter((id) => devices.delete(id));
    for (const id of ids ?? gone) this.forget(counterOf(id));
    return gone.length;
  }

  async countRefused({ lockKey, attempts }: RefusedAttempts, rule: CounterRule, note?: AttemptNote): Promise<LockState> {
    this.append(note);
    const lock = this.live(lockKey);
    if (!lock || lock.count < rule.limit) return { locked: false, failures: lock?.count ?? 0, lockMsLeft: null };
    for (const [key, n] of attempts) this.addFailures(key, n, rule);
    return { locked: true, failures: lock.count, lockMsLeft: this.lockMsLeft([lockKey], rule.limit) };
  }

  async reset(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      this.forget(key);
      this.inFlight.delete(key);
    }
  }

  async merge(counters: readonly CounterSnapshot[]): Promise<void> {
    for (const { key, count, expiresAtMs } of counters) {
      const counter = this.live(key);
      if (!counter) {
        this.counters.set(key, { count, expiresAt: expiresAtMs });
        continue;
      }
      counter.count = Math.max(counter.count, count);
      if (counter.expiresAt !== null) counter.expiresAt = expiresAtMs === null ? null : Math.max(counter.expiresAt, expiresAtMs);
    }
  }

  async consume(key: string, windowSeconds: number): Promise<WindowCount> {
    const counter = this.live(key) ?? { count: 0, expiresAt: this.now() + windowSeconds * 1000 };
    counter.count += 1;
    this.counters.set(key, counter);
    return { count: counter.count, resetAtMs: counter.expiresAt! };
  }

  async ping(): Promise<void> {}

  async read(keys: readonly string[]): Promise<CounterSnapshot[]> {
    const found: CounterSnapshot[] = [];
    for (const key of new Set(keys)) {
      const counter = this.live(key);
      if (counter && counter.count > 0) found.push({ key, count: counter.count, expiresAtMs: counter.expiresAt });
    }
    return found;
  }

  /** Keyset pages in key order. */
  async list(prefix: string, limit: number, cursor: string | null = null): Promise<CounterPage> {
    const after = keysetCursor.read(cursor);
    const keys = [...this.counters.keys()].filter((key) => key.startsWith(prefix) && (after === null || key > after)).sort();
    const counters = await this.read(keys.slice(0, limit));
    return { counters, cursor: keys.length > limit ? keysetCursor.after(keys[limit - 1]!) : null };
  }

  /** Newest first; the cursor is the id of the last entry of the page before. */
  async listAttempts(prefix: string, filter: AttemptFilter, limit: number, cursor: string | null = null): Promise<AttemptPage> {
    const after = /^[0-9]+$/.test(keysetCursor.read(cursor) ?? "") ? Number(keysetCursor.read(cursor)) : null;
    const entries = (this.history.get(prefix) ?? []).filter((e) => (after === null || Number(e.id) < after) && matchesFilter(e, filter)).reverse();
    const attempts = entries.slice(0, limit);
    return { attempts, cursor: entries.length > limit ? keysetCursor.after(attempts[attempts.length - 1]!.id) : null };
  }
}
