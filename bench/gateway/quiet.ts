/**
 * The gateway with its log lines dropped at the source: the benchmark's "decision logs off" twin of
 * the gateway Worker, so the report can show what the gateway's console lines cost. (Under `wrangler
 * dev` on the command line each line costs about 3 ms of CPU, relayed through workerd's inspector as a
 * DevTools message; the benchmark runs its Workers with the inspector off, bench/dev-worker.ts.)
 */
import worker from "../../src/index";

const drop = () => {};
for (const level of ["log", "info", "warn", "error", "debug"] as const) console[level] = drop;

export default worker;
