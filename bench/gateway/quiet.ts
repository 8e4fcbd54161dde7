/**
 * The gateway with its log lines dropped at the source: the benchmark's "decision logs off" twin of
 * the gateway Worker. Under `wrangler dev` every console line costs wrangler's Node process about
 * 3 ms of CPU (each call travels through workerd's inspector to wrangler's Node process as a
 * DevTools message), which a deployed Worker does not pay; running the same
 * scenario through both Workers separates the gateway's own cost from the local tooling's.
 */
import worker from "../../src/index";

const drop = () => {};
for (const level of ["log", "info", "warn", "error", "debug"] as const) console[level] = drop;

export default worker;
