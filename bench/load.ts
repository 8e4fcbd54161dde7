/**
 * One slice of load with autocannon (closed loop: `connections` clients, each sending its next request
 * when the previous answer is in), recording every response's latency at full precision, its status,
 * and connection errors. Store and SQL round trips are read around the slice by the caller.
 */
import autocannon from "autocannon";

/** What to send; `next` builds each request (rotating client addresses, usernames). */
export interface RequestPlan {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly next: () => { headers: Record<string, string>; body?: string };
}

export interface SliceResult {
  /** Latency of every response, in milliseconds. */
  readonly latenciesMs: number[];
  readonly statuses: Record<number, number>;
  /** Connection errors and timeouts (no HTTP answer). */
  readonly connectionErrors: number;
  /** Requests written to the wire, including those still in flight when the slice ended. */
  readonly sent: number;
  readonly durationSeconds: number;
}

export interface SliceOptions {
  readonly connections: number;
  readonly seconds: number;
}

/** Runs `plan` against `baseUrl` for `seconds`. */
export function runSlice(baseUrl: string, plan: RequestPlan, { connections, seconds }: SliceOptions): Promise<SliceResult> {
  const latenciesMs: number[] = [];
  const statuses: Record<number, number> = {};
  let connectionErrors = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: baseUrl,
        connections,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: plan.method,
            path: plan.path,
            setupRequest: (request) => {
              const { headers, body } = plan.next();
              return { ...request, method: plan.method, path: plan.path, headers, ...(body === undefined ? {} : { body }) };
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({ latenciesMs, statuses, connectionErrors, sent: result.requests.sent, durationSeconds: result.duration });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      latenciesMs.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
    instance.on("reqError", () => {
      connectionErrors += 1;
    });
  });
}
