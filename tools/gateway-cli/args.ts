/**
 * The command line of `npm run gateway`: turns argv into one typed command, or a UsageError that names the bad
 * option and shows a valid invocation.
 */
import { parseArgs } from "node:util";

/** A bad invocation: the CLI prints the message and exits 2. */
export class UsageError extends Error {}

/** One admin operation, with exactly the options it takes. */
export type Command =
  | { readonly name: "health" }
  | { readonly name: "lockouts list"; readonly all: boolean }
  | { readonly name: "lockouts status"; readonly ip?: string; readonly username?: string }
  | { readonly name: "lockouts reset"; readonly all?: false; readonly ip?: string; readonly username?: string }
  | { readonly name: "lockouts reset"; readonly all: true }
  | { readonly name: "attempts list"; readonly ip?: string; readonly username?: string; readonly since?: string; readonly limit: number }
  | { readonly name: "sessions list"; readonly username: string }
  | { readonly name: "sessions revoke"; readonly by: "session_id"; readonly sessionId: string }
  | { readonly name: "sessions revoke"; readonly by: "username"; readonly username: string }
  | { readonly name: "devices list"; readonly username: string }
  | { readonly name: "devices revoke"; readonly username: string; readonly deviceId?: string };

/** What the user asked for: usage, or a command with the global options. */
export type Invocation =
  | { readonly kind: "help" }
  | { readonly kind: "run"; readonly command: Command; readonly json: boolean; readonly url?: string };

type CommandName = Command["name"];

/** Options each command accepts (besides the global ones) and one example to show when it is misused. */
const COMMANDS: Record<CommandName, { readonly options: readonly string[]; readonly example: string }> = {
  health: { options: [], example: "health" },
  "lockouts list": { options: ["all"], example: "lockouts list --all" },
  "lockouts status": { options: ["ip", "username"], example: "lockouts status --ip 203.0.113.9 --username alice" },
  "lockouts reset": { options: ["ip", "username", "all", "yes"], example: "lockouts reset --ip 203.0.113.9" },
  "attempts list": { options: ["ip", "username", "since", "limit"], example: "attempts list --username alice --since 1h" },
  "sessions list": { options: ["username"], example: "sessions list --username alice" },
  "sessions revoke": { options: ["session-id", "username"], example: "sessions revoke --username alice" },
  "devices list": { options: ["username"], example: "devices list --username alice" },
  "devices revoke": { options: ["username", "device-id"], example: "devices revoke --username alice --device-id 0123456789abcdef0123456789abcdef" },
};

const GROUPS: Record<string, readonly string[]> = {
  attempts: ["list"],
  lockouts: ["list", "status", "reset"],
  sessions: ["list", "revoke"],
  devices: ["list", "revoke"],
};

/** The usage text printed by `--help` and with no arguments. */
export const USAGE = `Usage: npm run gateway -- <command> [options]

Operator commands for the gateway's admin API.

Commands:
  health                                       stores, circuit breaker and configuration summary
  lockouts list [--all]                        clients currently locked out (--all: every counter, with its failures)
  lockouts status [--ip IP] [--username NAME]  counters of a client (at least one option)
  lockouts reset --ip IP | --username NAME     delete a client's counters (both: the pair's counters too)
  lockouts reset --all --yes                   delete every counter of this gateway's key prefix
  attempts list [--username NAME] [--ip IP] [--since 1h] [--limit N]
                                               recent login attempts, newest first (default 100)
  sessions list --username NAME                sessions the gateway recorded for a user
  sessions revoke --session-id ID | --username NAME
                                               revoke one session (raw cookie value) or all of a user's
  devices list --username NAME                 a user's trusted devices (device cookies)
  devices revoke --username NAME [--device-id ID]
                                               revoke one trusted device, or all of a user's

Global options:
  --json        print the API's JSON answer as is
  --url URL     gateway base URL (overrides GATEWAY_URL)
  --help        show this text

Environment:
  GATEWAY_URL              gateway base URL (default http://127.0.0.1:8787)
  GATEWAY_ADMIN_TOKEN      admin bearer token (required; ADMIN_TOKEN is accepted too)
  GATEWAY_ADMIN_PREFIX     admin API path prefix (default /__gateway)
  GATEWAY_TIMEOUT_SECONDS  request timeout (default 10)

Exit status: 0 success, 1 the gateway answered an error or could not be reached, 2 usage error.

Examples:
  npm run gateway -- lockouts list
  npm run gateway -- lockouts reset --ip 203.0.113.9
  npm run gateway -- attempts list --ip 203.0.113.9 --since 30m
  npm run gateway -- sessions revoke --username alice --json
`;

const OPTIONS = {
  json: { type: "boolean" },
  url: { type: "string" },
  help: { type: "boolean", short: "h" },
  ip: { type: "string" },
  username: { type: "string" },
  "session-id": { type: "string" },
  since: { type: "string" },
  limit: { type: "string" },
  all: { type: "boolean" },
  yes: { type: "boolean" },
  "device-id": { type: "string" },
} as const;

/** Attempts `attempts list` shows unless --limit says otherwise. */
export const ATTEMPTS_DEFAULT_LIMIT = 100;
const ATTEMPTS_MAX_LIMIT = 100_000;

const example = (name: CommandName): string => `Example: npm run gateway -- ${COMMANDS[name].example}`;

/**
 * Parses the arguments after `npm run gateway --`.
 * @example parseInvocation(["lockouts", "reset", "--ip", "203.0.113.9"])
 */
export function parseInvocation(argv: readonly string[]): Invocation {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // Node's messages name the option ("Unknown option '--ipp'", "Option '--ip <value>' argument missing").
    throw new UsageError(`${parseErrorMessage(error)} ${exampleForGuess(argv)}`);
  }
  const { values, positionals } = parsed;
  if (values.help || argv.length === 0) return { kind: "help" };

  const name = commandName(positionals);
  const allowed = COMMANDS[name].options;
  for (const option of ["ip", "username", "session-id", "device-id", "since", "limit", "all", "yes"] as const) {
    const value = values[option];
    if (value === undefined) continue;
    if (!allowed.includes(option)) {
      throw new UsageError(`--${option} is not an option of "${name}". ${example(name)}`);
    }
    if (typeof value === "string" && value.trim() === "") throw new UsageError(`--${option} needs a non-empty value. ${example(name)}`);
  }
  if (values.url !== undefined && values.url.trim() === "") {
    throw new UsageError("--url needs a value, e.g. --url https://www.example.com");
  }

  return { kind: "run", command: buildCommand(name, values), json: values.json ?? false, url: values.url };
}

const USAGE_HINT = "Run `npm run gateway -- --help` for the commands and their options.";

/** Node's parseArgs message as one sentence (its later advice is about `--` and `--opt=-x` syntax). */
function parseErrorMessage(error: unknown): string {
  const [first = "", second] = (error instanceof Error ? error.message : String(error)).split("\n");
  const message = first.replace(/\. To specify a positional.*$/, "").replace(/\.$/, "");
  return second?.startsWith("Did you forget") ? `${message}: d${second.slice(1)}` : `${message}.`;
}

/** The example of the command the arguments seem to name, for an error found before the command is known. */
function exampleForGuess(argv: readonly string[]): string {
  const { positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: false });
  try {
    return example(commandName(positionals.filter((p) => !p.startsWith("-")).slice(0, 2)));
  } catch {
    return USAGE_HINT;
  }
}

function commandName(positionals: readonly string[]): CommandName {
  const [group, action, ...extra] = positionals;
  if (group === undefined) throw new UsageError(`No command given. ${USAGE_HINT}`);
  if (group === "health") {
    if (action !== undefined) throw new UsageError(`Unexpected argument "${action}" after "health". ${example("health")}`);
    return "health";
  }
  const actions = GROUPS[group];
  if (actions === undefined) throw new UsageError(`Unknown command "${group}". ${USAGE_HINT}`);
  if (action === undefined || !actions.includes(action)) {
    const what = action === undefined ? `"${group}" needs a subcommand` : `Unknown subcommand "${group} ${action}"`;
    throw new UsageError(`${what}: one of ${actions.join(", ")}. Example: npm run gateway -- ${group} ${actions[0]}`);
  }
  const name = `${group} ${action}` as CommandName;
  if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}" after "${name}". ${example(name)}`);
  return name;
}

type Values = { ip?: string; username?: string; "session-id"?: string; "device-id"?: string; since?: string; limit?: string; all?: boolean; yes?: boolean };

/** `lockouts reset`: a client's counters, or with --all (and --yes) every counter of the prefix. */
function resetCommand({ ip, username, all, yes }: Values): Command {
  if (all) {
    if (ip !== undefined || username !== undefined) throw new UsageError(`--all resets every counter: give it without --ip or --username. ${example("lockouts reset")}`);
    if (!yes) {
      throw new UsageError(
        "lockouts reset --all deletes every counter of this gateway's key prefix, locked or not, and cannot be undone.\n" +
          "  Add --yes to confirm: npm run gateway -- lockouts reset --all --yes",
      );
    }
    return { name: "lockouts reset", all: true };
  }
  if (yes) throw new UsageError(`--yes only confirms --all. ${example("lockouts reset")}`);
  if (ip === undefined && username === undefined) throw new UsageError(`"lockouts reset" needs --ip, --username or both (or --all --yes). ${example("lockouts reset")}`);
  return { name: "lockouts reset", ...(ip !== undefined && { ip }), ...(username !== undefined && { username }) };
}

function attemptsCommand({ ip, username, since, limit }: Values): Command {
  let count = ATTEMPTS_DEFAULT_LIMIT;
  if (limit !== undefined) {
    count = Number(limit);
    if (!/^[0-9]+$/.test(limit) || count < 1 || count > ATTEMPTS_MAX_LIMIT) {
      throw new UsageError(`--limit must be a whole number from 1 to ${ATTEMPTS_MAX_LIMIT}. ${example("attempts list")}`);
    }
  }
  if (since !== undefined && !/^(\d+(\.\d+)?\s*[a-z]+\s*)+$|^P/i.test(since.trim())) {
    throw new UsageError(`--since needs a duration with a unit, e.g. 1h, 30m or 2d. ${example("attempts list")}`);
  }
  return { name: "attempts list", limit: count, ...(ip !== undefined && { ip }), ...(username !== undefined && { username }), ...(since !== undefined && { since }) };
}

function buildCommand(name: CommandName, values: Values): Command {
  const { ip, username, "session-id": sessionId, "device-id": deviceId } = values;
  switch (name) {
    case "health":
      return { name };
    case "lockouts list":
      return { name, all: values.all ?? false };
    case "lockouts reset":
      return resetCommand(values);
    case "attempts list":
      return attemptsCommand(values);
    case "lockouts status":
      if (ip === undefined && username === undefined) {
        throw new UsageError(`"${name}" needs --ip, --username or both. ${example(name)}`);
      }
      return { name, ...(ip !== undefined && { ip }), ...(username !== undefined && { username }) };
    case "sessions list":
      if (username === undefined) throw new UsageError(`"sessions list" needs --username. ${example(name)}`);
      return { name, username };
    case "sessions revoke":
      if ((sessionId === undefined) === (username === undefined)) {
        throw new UsageError(
          `"sessions revoke" needs exactly one of --session-id or --username. ${example(name)}\n` +
            "  or: npm run gateway -- sessions revoke --session-id <session cookie value>",
        );
      }
      return sessionId !== undefined ? { name, by: "session_id", sessionId } : { name, by: "username", username: username! };
    case "devices list":
    case "devices revoke":
      if (username === undefined) throw new UsageError(`"${name}" needs --username. ${example(name)}`);
      return name === "devices list" ? { name, username } : { name, username, ...(deviceId !== undefined && { deviceId }) };
  }
}
