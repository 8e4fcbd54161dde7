/**
 * `npm run gateway -- <command> [options]`: the operator CLI of the gateway's admin API (the counterpart of
 * django-axes' `axes_list_attempts`, `axes_reset_ip`, `axes_reset_username` management commands).
 * Exit status: 0 success, 1 the gateway answered an error or no answer came, 2 usage error.
 * The admin token never reaches the output: every line written goes through `redact`.
 */
import { type Invocation, parseInvocation, USAGE, UsageError } from "./args.ts";
import { adminRequest, type AdminAnswer, followPages, TransportError } from "./client.ts";
import { renderAnswer, requestFor } from "./commands.ts";
import { isRecord } from "./format.ts";
import { readSettings, type Settings } from "./settings.ts";

/** stdout and stderr, with the token replaced wherever it would appear. */
interface Output {
  out(text: string): void;
  err(text: string): void;
}

function outputFor(secret: string | undefined): Output {
  const redact = (text: string) => (secret ? text.split(secret).join("[redacted]") : text);
  const line = (text: string) => (text.endsWith("\n") ? text : `${text}\n`);
  return {
    out: (text) => process.stdout.write(redact(line(text))),
    err: (text) => process.stderr.write(redact(line(text))),
  };
}

/** Runs one invocation and resolves with the exit status. */
async function run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  // Known before parsing, so that even a usage error quoting an argument cannot print the token.
  const output = outputFor(env.GATEWAY_ADMIN_TOKEN?.trim() || env.ADMIN_TOKEN?.trim());
  let settings: Settings;
  let invocation: Invocation;
  try {
    invocation = parseInvocation(argv);
    if (invocation.kind === "help") {
      output.out(USAGE);
      return 0;
    }
    settings = readSettings(env, invocation.url);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    output.err(error.message);
    return 2;
  }

  const { command, json } = invocation;
  let answer: AdminAnswer;
  try {
    // A listing comes in pages (cursor-based): follow them all.
    if (command.name === "lockouts list") answer = await followPages(settings, requestFor(command), "lockouts");
    else if (command.name === "attempts list") answer = await followPages(settings, requestFor(command), "attempts", command.limit);
    else answer = await adminRequest(settings, requestFor(command));
  } catch (error) {
    if (!(error instanceof TransportError)) throw error;
    output.err(`Error: ${error.message}`);
    return 1;
  }

  const ok = answer.status >= 200 && answer.status < 300;
  if (json) {
    if (answer.json !== undefined) output.out(answer.text);
    if (!ok || answer.json === undefined) output.err(errorLine(answer, settings));
    return ok && answer.json !== undefined ? 0 : 1;
  }

  // A degraded health check answers 503 with the full report: show it, then fail.
  const degradedHealth = command.name === "health" && answer.status === 503 && isRecord(answer.json) && "stores" in answer.json;
  if (!ok && !degradedHealth) {
    output.err(errorLine(answer, settings));
    return 1;
  }
  const text = renderAnswer(command, answer.json, settings.baseUrl);
  if (text === undefined) {
    output.err(`The gateway answered HTTP ${answer.status} with a body the CLI does not recognise; the raw answer follows.`);
    output.out(answer.text);
    return 1;
  }
  output.out(text);
  return ok ? 0 : 1;
}

/** One line saying what went wrong: the API's own error message and the HTTP status, plus a hint when one helps. */
function errorLine(answer: AdminAnswer, settings: Settings): string {
  const message = isRecord(answer.json) && typeof answer.json.error === "string" ? answer.json.error : undefined;
  if (message === undefined) {
    const snippet = answer.text.replace(/\s+/g, " ").trim().slice(0, 120);
    const hint =
      answer.status === 404
        ? ` Is the admin API deployed, and is GATEWAY_ADMIN_PREFIX (${settings.prefix}) the gateway's prefix?`
        : "";
    const quoted = snippet ? `: ${snippet.replace(/[.!]$/, "")}` : "";
    return `Error: HTTP ${answer.status} from ${answer.url}, not a JSON answer of the admin API${quoted}.${hint}`;
  }
  return `Error: ${message} (HTTP ${answer.status})${hintFor(answer.status, message)}`;
}

function hintFor(status: number, message: string): string {
  if (status === 401) return "\nCheck GATEWAY_ADMIN_TOKEN: it must equal the gateway's ADMIN_TOKEN secret.";
  if (status === 404 && /disabled/i.test(message)) {
    return "\nThe gateway has no ADMIN_TOKEN: set it with `npx wrangler secret put ADMIN_TOKEN` (or --var for wrangler dev).";
  }
  return "";
}

run(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // An unexpected failure: the message only (never the request, which holds the token).
    const redacted = outputFor(process.env.GATEWAY_ADMIN_TOKEN?.trim() || process.env.ADMIN_TOKEN?.trim());
    redacted.err(`gateway CLI failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
