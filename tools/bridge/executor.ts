/**
 * Runs Upstash request bodies (one command, a pipeline, a transaction) on one ioredis connection,
 * with Buffer replies so values stay binary-safe until they are encoded for the response.
 */
import { type ChainableCommander, Redis } from "ioredis";
import {
  type Command,
  encodeReply,
  parseCommand,
  parseCommandList,
  type Reply,
  rejectionOf,
} from "./protocol.ts";
import { ScriptTranslator, type TranslatedCommand } from "./scripts.ts";

/** An HTTP status and the JSON body to send with it. */
export type Answer = [status: number, body: unknown];

/** Runs one parsed JSON body; `base64` is whether the client sent `Upstash-Encoding: base64`. */
export type Run = (body: unknown, base64: boolean) => Promise<Answer>;

/** The Redis side of a bridge. */
export interface Executor {
  single: Run;
  pipeline: Run;
  multiExec: Run;
  /** Resolves when Redis answers PING; rejects with RedisUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): void;
}

/** Redis cannot be reached or did not answer; the client gets 503, as from Upstash's 5xx. */
export class RedisUnavailableError extends Error {}

type Prepared = TranslatedCommand | { rejection: string };
type Result = [error: Error | null, value: unknown];

/**
 * Connects to Redis; resolves once the first connection attempt has settled, whether or not it succeeded,
 * because a bridge whose Redis is down still runs and answers 503 until Redis comes back.
 */
export async function connectExecutor(redisUrl: string, countCommands: (n: number) => void): Promise<Executor> {
  const redis = new Redis(redisUrl, {
    // Fail fast instead of queueing: a dead Redis must turn into a quick 503, not a hung request.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
  });
  // Connection errors reach clients per request; without a listener ioredis would also print each one.
  let lastConnectionError: Error | undefined;
  redis.on("error", (error: Error) => {
    lastConnectionError = error;
  });
  redis.on("ready", () => {
    lastConnectionError = undefined;
  });
  await new Promise<void>((resolve) => {
    redis.once("ready", resolve);
    redis.once("error", resolve);
  });
  const scripts = new ScriptTranslator();

  function unavailable(error: unknown): RedisUnavailableError {
    // While disconnected ioredis only says "Stream isn't writeable"; the connection error says why.
    const cause = redis.status !== "ready" && lastConnectionError ? lastConnectionError : error;
    return new RedisUnavailableError(`Redis unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
  }

  /** A Redis error reply becomes `{error}`; any other failure means Redis is not there. */
  function replyError(error: unknown, detail?: string): { error: string } {
    if (!(error instanceof Error && error.name === "ReplyError")) throw unavailable(error);
    return { error: detail === undefined ? error.message : `${error.message} ${detail}` };
  }

  /** Rejects what cannot run over HTTP and makes scripts acceptable; what is left goes to Redis as is. */
  function prepare(command: Command): Prepared {
    const rejection = rejectionOf(command);
    return rejection === undefined ? scripts.translate(command) : { rejection };
  }

  /** Adds the runnable commands to an ioredis pipeline or transaction. */
  function enqueue(batch: ChainableCommander, prepared: Prepared[]): void {
    for (const item of prepared) {
      if ("rejection" in item) continue;
      batch.callBuffer(...item.command);
      countCommands(1);
    }
  }

  /** Pairs ioredis results with the commands that were sent, in order; rejected ones get their reason. */
  function answerAll(prepared: Prepared[], results: Result[], base64: boolean): Reply[] {
    let next = 0;
    return prepared.map((item): Reply => {
      if ("rejection" in item) return { error: item.rejection };
      const [error, value] = results[next++] ?? [new Error("no reply from Redis")];
      return error ? replyError(error) : { result: encodeReply(item.replyOverride ?? value, base64) };
    });
  }

  return {
    async single(body, base64) {
      const prepared = prepare(parseCommand(body));
      if ("rejection" in prepared) return [400, { error: prepared.rejection }];
      countCommands(1);
      const result = await redis.callBuffer(...prepared.command).then(
        (value: unknown): Result => [null, value],
        (error: Error): Result => [error, undefined],
      );
      const [reply] = answerAll([prepared], [result], base64);
      return [reply !== undefined && "error" in reply ? 400 : 200, reply];
    },

    async pipeline(body, base64) {
      const prepared = parseCommandList(body).map(prepare);
      const pipeline = redis.pipeline();
      enqueue(pipeline, prepared);
      const results = pipeline.length > 0 ? ((await pipeline.exec()) ?? []) : [];
      return [200, answerAll(prepared, results, base64)];
    },

    async multiExec(body, base64) {
      const prepared = parseCommandList(body).map(prepare);
      const rejected = prepared.find((item) => "rejection" in item);
      if (rejected !== undefined && "rejection" in rejected) return [400, { error: rejected.rejection }];
      // ioredis writes MULTI, the commands and EXEC in one go on the single connection, so nothing interleaves.
      const transaction = redis.multi();
      enqueue(transaction, prepared);
      try {
        const results = await transaction.exec();
        if (results === null) return [400, { error: "EXECABORT Transaction discarded" }];
        return [200, answerAll(prepared, results, base64)];
      } catch (error) {
        return [400, replyError(error, firstPreviousError(error))];
      }
    },

    async ping() {
      try {
        await redis.ping();
      } catch (error) {
        throw unavailable(error);
      }
    },

    close() {
      redis.disconnect();
    },
  };
}

/** ioredis attaches the queue-time errors that caused an EXECABORT; the first one says what was wrong. */
function firstPreviousError(error: unknown): string | undefined {
  const previous = (error as { previousErrors?: unknown } | null)?.previousErrors;
  return Array.isArray(previous) && previous[0] instanceof Error ? previous[0].message : undefined;
}
