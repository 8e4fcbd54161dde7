/**
 * Makes Upstash-only Lua shebang flags acceptable to a real Redis.
 * @upstash/ratelimit 2.2 starts every script with `#!lua flags=allow-key-locking`, which Upstash accepts and
 * Redis 7 rejects ("Unexpected flag in script shebang"). The bridge drops such flags, which changes the script's
 * SHA, so it also remembers which SHA the client knows the script by and translates EVALSHA, SCRIPT EXISTS and
 * the SCRIPT LOAD answer. Otherwise every EVALSHA would miss and cost the client a second round trip.
 */
import { createHash } from "node:crypto";
import type { Command } from "./protocol.ts";

/** The shebang flags Redis 7 knows (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/). */
const REDIS_SCRIPT_FLAGS = new Set(["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"]);

/** A command ready for Redis, and the answer to give instead of Redis's when it succeeds. */
export interface TranslatedCommand {
  command: Command;
  /** SCRIPT LOAD of a rewritten script must still answer the SHA of the script the client sent. */
  replyOverride?: string;
}

/** Translates script commands for one bridge; remembers client SHA -> Redis SHA for the scripts it rewrote. */
export class ScriptTranslator {
  readonly #redisShaFor = new Map<string, string>();

  /** Rewrites EVAL / EVALSHA (and their _RO forms), SCRIPT LOAD and SCRIPT EXISTS; other commands pass unchanged. */
  translate(command: Command): TranslatedCommand {
    const [name, first, ...rest] = command;
    if (first === undefined) return { command };
    if (name === "EVAL" || name === "EVAL_RO") return { command: [name, this.#accept(first), ...rest] };
    if (name === "EVALSHA" || name === "EVALSHA_RO") return { command: [name, this.#shaInRedis(first), ...rest] };
    if (name !== "SCRIPT") return { command };
    const subcommand = first.toUpperCase();
    if (subcommand === "LOAD" && rest[0] !== undefined) {
      const script = rest[0];
      const accepted = this.#accept(script);
      return accepted === script ? { command } : { command: [name, first, accepted], replyOverride: sha1(script) };
    }
    if (subcommand === "EXISTS") return { command: [name, first, ...rest.map((sha) => this.#shaInRedis(sha))] };
    return { command };
  }

  /** Returns the script Redis will accept, remembering the SHA mapping when it had to change it. */
  #accept(script: string): string {
    const accepted = withRedisFlagsOnly(script);
    if (accepted !== script) this.#redisShaFor.set(sha1(script), sha1(accepted));
    return accepted;
  }

  #shaInRedis(sha: string): string {
    return this.#redisShaFor.get(sha.toLowerCase()) ?? sha;
  }
}

/** Drops unknown flags from a `#!lua flags=...` first line; the line count stays, so Lua error line numbers do too. */
function withRedisFlagsOnly(script: string): string {
  const shebang = /^(#!\S+(?:[ \t]+\S+)*?[ \t]+flags=)([^\s]*)/.exec(script);
  if (shebang === null) return script;
  const [whole, head = "", flags = ""] = shebang;
  const known = flags.split(",").filter((flag) => REDIS_SCRIPT_FLAGS.has(flag));
  return `${head}${known.join(",")}${script.slice(whole.length)}`;
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}
