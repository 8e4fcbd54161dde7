/**
 * The Upstash REST wire format: request bodies in, JSON replies out.
 * Pure functions only, so the HTTP server stays about transport and the rules here stay testable on their own.
 */

/** One Redis command as the bridge sends it: upper-cased name first, every element a string. */
export type Command = [name: string, ...args: string[]];

/** One entry of a `/pipeline` or `/multi-exec` answer, and the body of a `/` answer. */
export type Reply = { result: JsonValue } | { error: string };

/** The JSON the bridge writes back. */
export type JsonValue = string | number | null | JsonValue[];

/** A body the bridge cannot run; the server answers 400 with the message. */
export class BadRequestError extends Error {}

/**
 * Commands that make no sense over stateless HTTP on one shared connection, with the reason given to the client.
 * Blocking ones would stall every other request; state-changing ones would leak into later requests.
 */
const REJECTED = new Map<string, string>([
  ...words("BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX BZMPOP WAIT WAITAOF MONITOR", "it blocks"),
  ...words(
    "SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE SELECT MULTI EXEC DISCARD WATCH UNWATCH " +
      "AUTH HELLO RESET QUIT CLIENT",
    "it needs connection state that does not outlive one HTTP request",
  ),
  ...words("SHUTDOWN REPLICAOF SLAVEOF SYNC PSYNC FAILOVER", "it would take down the shared server"),
]);

function words(names: string, reason: string): Array<[string, string]> {
  return names.split(" ").map((name) => [name, reason]);
}

/**
 * Why a command must not reach Redis through the bridge, or undefined when it may.
 * @example rejectionOf(["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]) // "ERR 'XREAD' with BLOCK ..."
 */
export function rejectionOf(command: Command): string | undefined {
  const [name, ...args] = command;
  const reason = REJECTED.get(name);
  if (reason !== undefined) return `ERR '${name}' is not supported by the bridge: ${reason}`;
  if ((name === "XREAD" || name === "XREADGROUP") && args.some((arg) => arg.toUpperCase() === "BLOCK")) {
    return `ERR '${name}' with BLOCK is not supported by the bridge: it blocks`;
  }
  return undefined;
}

/** Checks a `POST /` body: a non-empty array of strings, numbers or booleans. */
export function parseCommand(body: unknown): Command {
  if (!Array.isArray(body) || body.length === 0) {
    throw new BadRequestError('ERR the body must be a JSON array with a command, e.g. ["SET","key","value"]');
  }
  const elements = body.map((element: unknown, index) => {
    if (typeof element === "string" || typeof element === "number" || typeof element === "boolean") {
      return String(element);
    }
    throw new BadRequestError(`ERR command element ${index} must be a string, number or boolean`);
  });
  const [name = "", ...args] = elements;
  // Upper case also keeps ioredis from applying its lower-case-keyed reply transformers (HGETALL -> object).
  return [name.toUpperCase(), ...args];
}

/** Checks a `/pipeline` or `/multi-exec` body: a non-empty array of commands. */
export function parseCommandList(body: unknown): Command[] {
  if (!Array.isArray(body) || body.length === 0) {
    throw new BadRequestError('ERR the body must be a JSON array of commands, e.g. [["SET","k","v"],["GET","k"]]');
  }
  return body.map((command: unknown, index) => {
    try {
      return parseCommand(command);
    } catch (error) {
      throw new BadRequestError(`ERR command ${index}: ${(error as Error).message.replace(/^ERR /, "")}`);
    }
  });
}

/**
 * Turns an ioredis Buffer-mode reply into the JSON Upstash sends.
 * With base64, every string is encoded except a top-level "OK": the SDK keeps a top-level "OK" as is but
 * base64-decodes every string inside arrays, so there "OK" must be encoded too.
 */
export function encodeReply(reply: unknown, base64: boolean, topLevel = true): JsonValue {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item: unknown) => encodeReply(item, base64, false));
  // Nested errors (a Lua table holding an error reply) are sent as their message, like any string.
  const bytes = reply instanceof Error ? Buffer.from(reply.message) : Buffer.isBuffer(reply) ? reply : Buffer.from(String(reply));
  if (!base64) return bytes.toString("utf8");
  if (topLevel && bytes.equals(OK)) return "OK";
  return bytes.toString("base64");
}

const OK = Buffer.from("OK");
