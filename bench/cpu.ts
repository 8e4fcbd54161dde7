/**
 * CPU time of a Worker under wrangler's dev server, read from /proc (user + system, all threads) for
 * every process of its group, split into the Worker's own workerd and wrangler's tooling (its Node
 * process and the dev proxy's workerd), so a slice can report CPU milliseconds per request of each.
 *
 * Why not the isolate's own CPU time (what Cloudflare bills)? Locally it cannot be separated: workerd's
 * V8 profiler, reached through an inspector, attributes the runtime's native time to whichever JS
 * frame is on top and slows the Worker about fourfold while it samples. The runtime figure is an upper
 * bound: it also holds HTTP parsing and the subrequests' I/O.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

export const RUNTIME_CPU_NOTE =
  "\"Worker runtime\" is the CPU time (user + system, from /proc) of the workerd process that runs the Worker, per request sent: an upper " +
  "bound of the Worker's CPU time, since it also holds HTTP parsing and subrequest I/O. The isolate's own CPU time (what Cloudflare bills) " +
  "cannot be separated locally: workerd's profiler, through an inspector, attributes native runtime time to the JS frame on top and " +
  "slows the Worker about fourfold while sampling. \"wrangler's tooling\" is wrangler's Node process and its dev proxy (another workerd): " +
  "not part of a deployed Worker. The Workers run with the inspector off (bench/dev-worker.ts): console lines leave workerd as structured " +
  "stdout lines, as a deployed Worker's logs leave the isolate, not as the DevTools messages `wrangler dev` relays (about 3 ms of CPU per line).";

export interface CpuMs {
  /** The workerd that runs the Worker (the one not listening on the Worker's public port). */
  readonly runtime: number;
  /** wrangler's Node process, its dev proxy workerd, esbuild. */
  readonly tooling: number;
}

function processCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 once pid and comm are cut off.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** CPU milliseconds used so far by the processes of `group` (a Worker answering on `publicPort`), or null when none can be read. */
export function groupCpuMs(group: number | undefined, publicPort: number): CpuMs | null {
  if (group === undefined) return null;
  let runtime = 0;
  let tooling = 0;
  let found = false;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== group) continue; // field 5: process group
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      // Two workerds: the dev proxy listens on the Worker's public port, the runtime on one of its own.
      if (cmdline.includes("workerd") && !cmdline.includes(`--socket-addr=entry=127.0.0.1:${publicPort}\0`)) runtime += processCpuMs(stat);
      else tooling += processCpuMs(stat);
      found = true;
    } catch {
      // The process went away while we looked.
    }
  }
  return found ? { runtime, tooling } : null;
}
