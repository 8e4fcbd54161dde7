/** Health of each store the wiring names (`Stores.health`): reachable, latency, circuit state. */
import { StoreError } from "../store/contract";
import type { HealthProbe, Stores } from "../store";

export interface StoreHealth {
  readonly kind: string;
  readonly reachable: boolean;
  readonly latency_ms: number;
  readonly reason?: string;
  readonly circuit?: string;
}

/** Pings one store; `now` times the ping. */
async function probe({ store, circuit: circuitOf }: HealthProbe, now: () => number): Promise<StoreHealth> {
  const circuit = circuitOf?.();
  const started = now();
  try {
    await store.ping();
    return { kind: store.kind, reachable: true, latency_ms: now() - started, ...(circuit && { circuit }) };
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    return { kind: store.kind, reachable: false, latency_ms: now() - started, reason: error.reason, ...(circuit && { circuit }) };
  }
}

/** Pings each store in turn (not at once: each latency is that store's alone). `now` @default Date.now */
export async function storeHealth({ health }: Pick<Stores, "health">, now: () => number = () => Date.now()): Promise<{ status: "ok" | "degraded"; stores: Record<string, StoreHealth> }> {
  const stores: Record<string, StoreHealth> = {};
  for (const entry of health) stores[entry.name] = await probe(entry, now);
  return { status: Object.values(stores).every((s) => s.reachable) ? "ok" : "degraded", stores };
}
