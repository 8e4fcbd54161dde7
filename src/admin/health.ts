/** Health of each store: reachable, latency, circuit state. */
import { StoreError } from "../store/contract";
import type { Stores } from "../store";
import type { CounterStore } from "../store/contract";
import { FailoverStore } from "../store/failover";

export interface StoreHealth {
  readonly kind: string;
  readonly reachable: boolean;
  readonly latency_ms: number;
  readonly reason?: string;
  readonly circuit?: string;
}

async function probe(store: CounterStore, circuit?: string): Promise<StoreHealth> {
  const started = Date.now();
  try {
    await store.ping();
    return { kind: store.kind, reachable: true, latency_ms: Date.now() - started, ...(circuit && { circuit }) };
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return { kind: store.kind, reachable: false, latency_ms: Date.now() - started, reason: error.reason, ...(circuit && { circuit }) };
  }
}

export async function storeHealth({ store }: Stores): Promise<{ status: "ok" | "degraded"; stores: Record<string, StoreHealth> }> {
  const stores: Record<string, StoreHealth> =
    store instanceof FailoverStore
      ? { counters: await probe(store.primary, store.breaker.state), fallback: await probe(store.fallback) }
      : { counters: await probe(store) };
  return { status: Object.values(stores).every((s) => s.reachable) ? "ok" : "degraded", stores };
}
