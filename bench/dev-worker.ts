/**
 * One Worker for the benchmark, started through wrangler's own dev API (`unstable_startWorker`, the
 * engine behind `wrangler dev`: the same bundling, workerd and dev proxy) with the inspector off.
 * `wrangler dev` on the command line always attaches an inspector and relays every console call of the
 * Worker to its Node process as a DevTools message, a cost (about 2 ms of workerd CPU and 3 ms of
 * tooling per line) that a deployed Worker never pays. Here console lines leave workerd as structured
 * stdout lines instead; lines at warn and error are printed, the others dropped (`--log-level warn`).
 *
 * Run as a child by bench/wrangler.ts: `node --import tsx bench/dev-worker.ts '<json DevWorkerArgs>'`;
 * prints `ready <url>` once the Worker answers, and stops the Worker on SIGTERM.
 */
import { unstable_startWorker } from "wrangler";

/** What bench/wrangler.ts passes on the command line, as JSON. */
export interface DevWorkerArgs {
  /** Absolute path of the wrangler config. */
  readonly config: string;
  /** Absolute path of an entry module instead of the config's `main`. */
  readonly entrypoint?: string;
  readonly port: number;
  readonly persist: string;
  readonly vars: Readonly<Record<string, string>>;
}

const args = JSON.parse(process.argv[2] ?? "") as DevWorkerArgs;
const worker = await unstable_startWorker({
  config: args.config,
  ...(args.entrypoint ? { entrypoint: args.entrypoint } : {}),
  bindings: Object.fromEntries(Object.entries(args.vars).map(([name, value]) => [name, { type: "plain_text" as const, value }])),
  dev: {
    inspector: false,
    watch: false,
    server: { hostname: "127.0.0.1", port: args.port },
    persist: args.persist,
    structuredLogsHandler: ({ level, message }: { level: string; message: string }) => {
      if (level === "warn" || level === "error") process.stderr.write(`${message}\n`);
    },
  },
});
await worker.ready;
process.stdout.write(`ready ${String(await worker.url)}\n`);

const stop = () => {
  worker.dispose().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
