/**
 * `npm run check [-- --env NAME] [--config wrangler.toml]`: the configuration as the Worker will read
 * it, parsed by the Worker's own parser (src/settings), every problem at once with a valid example,
 * warnings for names the gateway ignores, and the secrets a deploy still needs.
 * `npm run deploy [-- --env NAME ...]` runs it with `--deploy`: on an error it stops, otherwise it
 * runs `wrangler deploy` with the same arguments.
 *
 * Exit status: 0 fine (warnings allowed), 1 a configuration error, 2 a usage error.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { checkConfig } from "../../src/settings/check.ts";
import { parseDevVars } from "./dev-vars.ts";

/** Secrets (never in wrangler.toml), as .dev.vars.example documents them. */
const SECRETS = [
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "DATABASE_URL",
  "ORIGIN_SECRET",
  "ADMIN_TOKEN",
  "LOCKOUT_WEBHOOK_URL",
  "SESSIONS_UPSTASH_REDIS_REST_URL",
  "SESSIONS_UPSTASH_REDIS_REST_TOKEN",
  "DEVICE_COOKIE_SECRET",
  "DEVICE_COOKIE_SECRET_PREVIOUS",
] as const;

const USAGE = `Usage: npm run check [-- --env NAME] [--config PATH]
       npm run deploy [-- --env NAME] [wrangler deploy options]

Checks wrangler.toml's [vars] (or [env.NAME.vars]) and .dev.vars (or .dev.vars.NAME) with the
Worker's own parser, reports every problem with a valid example, warns about names the gateway
ignores, and lists the secrets a deploy needs. Exit 1 on a problem.
`;

interface Options {
  env: string | undefined;
  config: string;
  deploy: boolean;
  /** Arguments handed on to `wrangler deploy`. */
  rest: string[];
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options | "help" {
  const options: Options = { env: undefined, config: "wrangler.toml", deploy: false, rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${arg} needs a value (example: ${arg} production)`);
      return next;
    };
    if (arg === "--help" || arg === "-h") return "help";
    else if (arg === "--deploy") options.deploy = true;
    else if (arg === "--env" || arg === "-e") options.rest.push(arg, (options.env = value()));
    else if (arg.startsWith("--env=")) {
      options.env = arg.slice("--env=".length);
      options.rest.push(arg);
    }
    else if (arg === "--config" || arg === "-c") options.rest.push(arg, (options.config = value()));
    else if (options.deploy) options.rest.push(arg);
    else throw new UsageError(`unknown option ${arg}`);
  }
  return options;
}

type Toml = { vars?: Record<string, unknown>; env?: Record<string, { vars?: Record<string, unknown> }> };

/** The vars wrangler would hand the Worker, and where they came from. */
function loadVars({ env, config }: Options): { vars: Record<string, unknown>; local: Record<string, string>; sources: string[] } {
  if (!existsSync(config)) throw new UsageError(`${config} does not exist`);
  const toml = parseToml(readFileSync(config, "utf8")) as Toml;
  let vars: Record<string, unknown>;
  const sources: string[] = [];
  if (env === undefined) {
    vars = toml.vars ?? {};
    sources.push(`${config} [vars]`);
  } else {
    const section = toml.env?.[env];
    if (!section) throw new UsageError(`${config} has no [env.${env}] (environments: ${Object.keys(toml.env ?? {}).join(", ") || "none"})`);
    // Wrangler does not inherit [vars] into an environment: only its own vars reach the Worker.
    vars = section.vars ?? {};
    sources.push(`${config} [env.${env}.vars]`);
  }
  const dir = dirname(config);
  const devVarsPath = [env && join(dir, `.dev.vars.${env}`), join(dir, ".dev.vars")].find((path) => path && existsSync(path));
  let local: Record<string, string> = {};
  if (devVarsPath) {
    local = parseDevVars(readFileSync(devVarsPath, "utf8"));
    sources.push(devVarsPath);
  }
  return { vars, local, sources };
}

function run(options: Options): number {
  const { vars, local, sources } = loadVars(options);
  const input: Record<string, unknown> = { ...vars, ...local };
  const report = checkConfig(input);
  const environment = String(report.config?.environment ?? input.ENVIRONMENT ?? "production").toLowerCase();

  // A secret nobody set locally is not an error of the files: it is set with `wrangler secret put`.
  const isUnsetSecret = (name: string) => (SECRETS as readonly string[]).includes(name) && input[name] === undefined;
  const errors = report.problems.filter((problem) => !isUnsetSecret(problem.variable));
  const neededSecrets = report.problems.filter((problem) => isUnsetSecret(problem.variable));
  const warnings = [...report.warnings];
  for (const name of SECRETS) {
    if (vars[name] !== undefined) warnings.push({ variable: name, message: `is a secret: remove it from ${options.config} and run \`npx wrangler secret put ${name}\`` });
  }

  const out: string[] = [`Checked ${sources.join(" + ")} (ENVIRONMENT=${environment})`, ""];
  if (errors.length > 0) {
    out.push(`Errors (${errors.length}):`);
    for (const problem of errors) out.push(`  ✗ ${problem.message}`);
    out.push("");
  }
  if (warnings.length > 0) {
    out.push(`Warnings (${warnings.length}):`);
    for (const warning of warnings) out.push(`  ! ${warning.variable}: ${warning.message}`);
    out.push("");
  }
  const envFlag = options.env ? ` --env ${options.env}` : "";
  out.push(`Secrets for a deploy (\`npx wrangler secret put NAME${envFlag}\`; .dev.vars is only read by wrangler dev):`);
  const required = new Map(neededSecrets.map((problem) => [problem.variable, problem.problem.split(": ")[0]!]));
  // The Upstash pair goes together (the check stops asking for the token once the URL has a value).
  if (required.has("UPSTASH_REDIS_REST_URL") && input.UPSTASH_REDIS_REST_TOKEN === undefined) {
    required.set("UPSTASH_REDIS_REST_TOKEN", "is required with UPSTASH_REDIS_REST_URL");
  }
  for (const [name, why] of required) out.push(`  required     ${name}: ${why}`);
  const recommended = environment === "production" ? ["ORIGIN_SECRET"] : [];
  for (const name of SECRETS) {
    if (required.has(name)) continue;
    const state = local[name] !== undefined ? "set in .dev.vars" : vars[name] !== undefined ? "in wrangler.toml (move it)" : "not set here";
    out.push(`  ${(recommended.includes(name) ? "recommended" : "optional").padEnd(12)} ${name}: ${state}`);
  }
  out.push("", errors.length === 0 ? `OK: no errors, ${warnings.length} warning(s).` : `${errors.length} error(s), ${warnings.length} warning(s): fix the errors before deploying.`);
  (errors.length > 0 ? process.stderr : process.stdout).write(`${out.join("\n")}\n`);
  return errors.length > 0 ? 1 : 0;
}

function main(): number {
  let options: Options | "help";
  try {
    options = parseArgs(process.argv.slice(2));
    if (options === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    const status = run(options);
    if (status !== 0 || !options.deploy) return status;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`npm run check: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  const wrangler = spawnSync("wrangler", ["deploy", ...options.rest], { stdio: "inherit" });
  return wrangler.status ?? 1;
}

process.exitCode = main();
