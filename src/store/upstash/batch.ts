/**
 * Script calls sent to Upstash together: fewer HTTP requests for the same commands. How a call
 * travels is its `Timing`:
 *
 * - `"turn"`: one request's calls issued in one turn of the event loop travel as one `/pipeline`
 *   request (a successful login's give-back and its session record, when the counters and the
 *   sessions share one database). A call alone in its turn goes as a plain EVALSHA.
 * - `"now"`: sent at once, without waiting for the turn to end (a timer costs CPU): a reservation,
 *   or a confirmed failure someone waits for.
 * - `"after-response"`: a write nobody waits for (a failure confirmed after the response) lingers:
 *   it rides, ahead of that request's own calls (so they see it), in the next request this isolate
 *   sends anyway (usually the next attempt's reservation); with none within `lingerMs`
 *   (REDIS_WRITE_LINGER_MS), it goes alone then.
 *
 * Workers forbid one request to settle what another request waits for ("Cannot perform I/O on behalf
 * of a different request"), so nothing here crosses requests but plain data: each request's calls
 * are batched only with each other (its lane: `inOwnLane`, an AsyncLocalStorage), and a lingering
 * call is a slot that the carrying request fills in, while its owner watches it with timers of its
 * own. An owner that sees no answer within `answerWithinMs` of its slot being taken (the carrying
 * request was cancelled) gets a timeout, as for a request of its own that got no answer.
 *
 * Each call keeps its own answer or error (`keepErrors`): one script's error fails only its caller.
 * A failed request (timeout, unreachable, refused credentials) fails every call it carried, each
 * caller deciding on its own (failover, FAIL_MODE). EVAL follows, per call, only when Redis no
 * longer holds the script (after a SCRIPT FLUSH). Never retried, as everywhere.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type Redis, errors } from "@upstash/redis/cloudflare";

/** How a call travels (see above). */
export type Timing = "turn" | "now" | "after-response";

/** A script whose calls are batched: the shape of `redis.createScript(...)` the stores use. */
export interface BatchedScript<T> {
  /** @default "turn" */
  exec(keys: string[], args: string[], timing?: Timing): Promise<T>;
}

interface Call {
  readonly source: string;
  readonly sha: string;
  readonly keys: string[];
  readonly args: string[];
  /** Where its answer goes: the caller's promise (same request), or a slot's fields (plain data). */
  readonly ok: (value: unknown) => void;
  readonly fail: (error: unknown) => void;
}

/** A lingering call's state: written by whichever request sends it, read by its owner. */
interface Slot {
  state: "waiting" | "sent" | "done" | "failed";
  result?: unknown;
  error?: unknown;
}

const NOSCRIPT = /noscript/i;
/** How soon a lingering call's owner first looks at its slot (then at doubling intervals), and how often once it is carried. */
const WATCH_MS = 10;

const lanes = new AsyncLocalStorage<object>();
/** Calls made outside any request's lane (tests, scheduled work): one lane of their own. */
const NO_LANE = {};

/** Runs `work` (one request) in a lane of its own: its script calls are batched with each other only. */
export const inOwnLane = <T>(work: () => T): T => lanes.run({}, work);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function sha1Hex(source: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(source)));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface ScriptBatchOptions {
  /** When a lane's calls are sent: after the current turn's microtasks. Tests may drive it. */
  readonly defer?: (send: () => void) => void;
  /** How long a lingering call's owner waits for the answer once another request carries it. @default 10_000 */
  readonly answerWithinMs?: number;
  /** How long a call made after the response waits for another request to ride with (REDIS_WRITE_LINGER_MS); 0 = sent at once. @default 50 */
  readonly lingerMs?: number;
}

export class ScriptBatch {
  /** Each lane's calls not sent yet. */
  private readonly queues = new WeakMap<object, Call[]>();
  /** Lingering calls no request has taken yet, oldest first. */
  private lingering: { readonly call: Call; readonly slot: Slot }[] = [];
  private readonly defer: (send: () => void) => void;
  private readonly answerWithinMs: number;
  private readonly lingerMs: number;

  constructor(
    private readonly redis: Pick<Redis, "pipeline" | "evalsha" | "eval">,
    { defer = (send) => setTimeout(send, 0), answerWithinMs = 10_000, lingerMs = 50 }: ScriptBatchOptions = {},
  ) {
    this.defer = defer;
    this.answerWithinMs = answerWithinMs;
    this.lingerMs = lingerMs;
  }

  /** A script whose calls are batched. */
  script<T>(source: string): BatchedScript<T> {
    const sha = sha1Hex(source);
    return {
      exec: async (keys, args, timing = "turn") => {
        const call = { source, sha: await sha, keys, args };
        if (timing === "after-response" && this.lingerMs > 0) return this.linger(call, this.lingerMs) as Promise<T>;
        return (timing === "turn" ? this.inLane(call) : this.atOnce(call)) as Promise<T>;
      },
    };
  }

  private inLane(call: Omit<Call, "ok" | "fail">): Promise<unknown> {
    const lane = lanes.getStore() ?? NO_LANE;
    return new Promise((ok, fail) => {
      let queue = this.queues.get(lane);
      if (!queue) {
        queue = [];
        this.queues.set(lane, queue);
        this.defer(() => void this.send(this.take(lane)));
      }
      queue.push({ ...call, ok, fail });
    });
  }

  /** Sends one call at once, after every lingering call (they ride with it). */
  private atOnce(call: Omit<Call, "ok" | "fail">): Promise<unknown> {
    return new Promise((ok, fail) => void this.send([...this.takeLingering(), { ...call, ok, fail }]));
  }

  /** The lane's calls, after every lingering call (theirs first: the lane's own calls see them). */
  private take(lane: object): Call[] {
    const own = this.queues.get(lane) ?? [];
    this.queues.delete(lane);
    return [...this.takeLingering(), ...own];
  }

  private takeLingering(): Call[] {
    const carried = this.lingering;
    this.lingering = [];
    for (const { slot } of carried) slot.state = "sent";
    return carried.map(({ call }) => call);
  }

  private async linger(call: Omit<Call, "ok" | "fail">, lingerMs: number): Promise<unknown> {
    const slot: Slot = { state: "waiting" };
    // These only write data: whichever request sends the call, this one reads the answer.
    const ok = (result: unknown) => Object.assign(slot, { state: "done", result });
    const fail = (error: unknown) => Object.assign(slot, { state: "failed", error });
    this.lingering.push({ call: { ...call, ok, fail }, slot });
    // Looks at the slot after 10 ms, then at doubling intervals until lingerMs: usually one look finds it carried and answered.
    // (A monotonic clock: a test that pins Date must not stop the wait.)
    const lingerEnd = performance.now() + lingerMs;
    for (let pause = WATCH_MS; slot.state === "waiting" && performance.now() < lingerEnd; pause *= 2) {
      await sleep(Math.min(pause, Math.max(0, lingerEnd - performance.now())));
    }
    // Nobody came by: this request sends it, with any other call still lingering.
    if (slot.state === "waiting") await this.send(this.takeLingering());
    const deadline = performance.now() + this.answerWithinMs;
    while (slot.state === "sent") {
      if (performance.now() > deadline) throw new DOMException("the request that carried this call got no answer", "TimeoutError");
      await sleep(WATCH_MS);
    }
    if (slot.state === "failed") throw slot.error;
    return slot.result;
  }

  private async send(calls: Call[]): Promise<void> {
    if (calls.length === 0) return;
    if (calls.length === 1) {
      const [call] = calls as [Call];
      await this.redis.evalsha(call.sha, call.keys, call.args).then(call.ok, (error: unknown) => this.afterError(call, error));
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const call of calls) pipeline.evalsha(call.sha, call.keys, call.args);
    let answers: { result?: unknown; error?: string }[];
    try {
      answers = await pipeline.exec({ keepErrors: true });
    } catch (error) {
      for (const call of calls) call.fail(error);
      return;
    }
    await Promise.all(
      calls.map((call, i) => {
        const answer = answers[i];
        if (answer && answer.error === undefined) return call.ok(answer.result);
        return this.afterError(call, new errors.UpstashError(`Command failed: ${answer?.error ?? "no answer"}`));
      }),
    );
  }

  /** NOSCRIPT: the script is sent whole (EVAL loads it again); any other error is the caller's. */
  private async afterError(call: Call, error: unknown): Promise<void> {
    if (!(error instanceof Error && NOSCRIPT.test(error.message))) return call.fail(error);
    await this.redis.eval(call.source, call.keys, call.args).then(call.ok, call.fail);
  }
}
