/** Builds the counter store the configuration names. */
import type { StoreSettings } from "../config";
import type { CounterStore } from "./contract";
import { MemoryStore } from "./memory";
import { UpstashStore, createUpstashClient } from "./upstash";

export function createStore(settings: StoreSettings): CounterStore {
  return settings.kind === "upstash" ? new UpstashStore(createUpstashClient(settings)) : new MemoryStore();
}

export type { CounterStore } from "./contract";
export { StoreError } from "./contract";
