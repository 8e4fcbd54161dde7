/**
 * Script calls issued in one turn of the event loop, sent to Upstash as one `/pipeline` request.
 * A successful login's give-back and its session record are written in the same turn; when the
 * counters and the sessions share one database they cost one round trip instead of two. A call
 * alone in its turn goes as a plain EVALSHA, as `Script.exec` sends it.
 *
 * Each call keeps its own answer or error (`keepErrors`): one script's error fails only its
 * caller. A failed request (timeout, unreachable, refused credentials) fails every call it
 * carried, each caller deciding on its own (failover, FAIL_MODE). EVAL follows, per call, only
 * when Redis no longer holds the script (after a SCRIPT FLUSH). Never retried, as everywhere.
 */
import { type Redis, errors } from "@upstash/redis/cloudflare";

/** A script whose calls join the turn's batch: the shape of `redis.createScript(...)` the stores use. */
export interface BatchedScript<T> {
  exec(keys: string[], args: string[]): Promise<T>;
}

interface Queued {
  readonly source: string;
  readonly sha: string;
  readonly keys: string[];
  readonly args: string[];
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

const NOSCRIPT = /noscript/i;

async function sha1Hex(source: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(source)));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class ScriptBatch {
  private queue: Queued[] = [];

  constructor(
    private readonly redis: Pick<Redis, "pipeline" | "evalsha" | "eval">,
    /** When the turn's calls are sent: after the current turn's microtasks. Tests may drive it. */
    private readonly defer: (send: () => void) => void = (send) => setTimeout(send, 0),
  ) {}

  /** A script whose calls are batched. */
  script<T>(source: string): BatchedScript<T> {
    const sha = sha1Hex(source);
    return {
      exec: async (keys, args) => {
        const digest = await sha;
        return new Promise<T>((resolve, reject) => {
          this.queue.push({ source, sha: digest, keys, args, resolve: resolve as (value: unknown) => void, reject });
          if (this.queue.length === 1) this.defer(() => void this.send());
        });
      },
    };
  }

  private async send(): Promise<void> {
    const calls = this.queue;
    this.queue = [];
    if (calls.length === 1) {
      const [call] = calls as [Queued];
      await this.redis.evalsha(call.sha, call.keys, call.args).then(call.resolve, (error: unknown) => this.afterError(call, error));
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const call of calls) pipeline.evalsha(call.sha, call.keys, call.args);
    let answers: { result?: unknown; error?: string }[];
    try {
      answers = await pipeline.exec({ keepErrors: true });
    } catch (error) {
      for (const call of calls) call.reject(error);
      return;
    }
    await Promise.all(
      calls.map((call, i) => {
        const answer = answers[i];
        if (answer && answer.error === undefined) return call.resolve(answer.result);
        return this.afterError(call, new errors.UpstashError(`Command failed: ${answer?.error ?? "no answer"}`));
      }),
    );
  }

  /** NOSCRIPT: the script is sent whole (EVAL loads it again); any other error is the caller's. */
  private async afterError(call: Queued, error: unknown): Promise<void> {
    if (!(error instanceof Error && NOSCRIPT.test(error.message))) return call.reject(error);
    await this.redis.eval(call.source, call.keys, call.args).then(call.resolve, call.reject);
  }
}
