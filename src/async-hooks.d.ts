// The part of `node:async_hooks` the Worker uses (compatibility flag `nodejs_als`); the runtime
// types that `wrangler types` generates do not declare Node's modules.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    run<R>(store: T, callback: () => R): R;
    getStore(): T | undefined;
  }
}
